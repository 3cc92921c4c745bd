// Example 1 of the design: from an empty project to the summary. The plan has 8 tasks,
// task_1 and task_7 visibly run at the same time, four services appear on the canvas, the
// prompt bar is disabled (and says why) while the run goes on, and the summary reports it.
import { test, expect } from '@playwright/test';
import {
  EXAMPLE_1, currentRunId, expectNoMissingEvents, nodesOfType, openNewWorkspace, startRun, task, waitForSummary,
} from './helpers';

test('Example 1: build an e-commerce platform from an empty canvas', async ({ page }) => {
  test.setTimeout(180_000);
  await openNewWorkspace(page, 'ex1', 'E-commerce');
  await expect(page.getByTestId('canvas-empty')).toContainText('No components yet.');

  await startRun(page, EXAMPLE_1);
  const log = page.getByTestId('activity-log');
  await expect(log).toContainText('Analyzing requirements');
  await expect(log).toContainText('Plan ready: 8 tasks');
  await expect(page.getByTestId('task-row')).toHaveCount(8);
  await expect(page.getByTestId('conn-state')).toHaveAttribute('data-state', 'live');

  // task_1 and task_7 have no dependencies: both run at once.
  await page.waitForFunction(
    () =>
      document.querySelector('[data-testid="task-row"][data-task-id="task_1"]')?.getAttribute('data-status') ===
        'running' &&
      document.querySelector('[data-testid="task-row"][data-task-id="task_7"]')?.getAttribute('data-status') ===
        'running',
    undefined,
    { timeout: 30_000 },
  );
  await expect(page.getByTestId('run-status-line')).toHaveText('Running: 2 tasks active');
  await expect(log).toContainText('Started Architecture Design');
  await page.screenshot({ path: test.info().outputPath('example1-parallel.png') });

  // The prompt bar is disabled with a visible reason while the run goes on.
  await expect(page.getByTestId('prompt-input')).toBeDisabled();
  await expect(page.getByTestId('prompt-help')).toContainText('in progress');

  // The architecture task puts the four services on the canvas.
  await expect(task(page, 'task_1')).toHaveAttribute('data-status', 'completed', { timeout: 60_000 });
  await expect(log).toContainText('✓ Architecture Design — Architecture designed with 4 microservices');
  const services = nodesOfType(page, 'microservice');
  await expect.poll(() => services.count()).toBeGreaterThanOrEqual(4);
  for (const id of ['auth-service', 'product-service', 'cart-service', 'payment-service']) {
    await expect(page.getByTestId('canvas').locator(`[data-node-id="${id}"]`).first()).toBeVisible();
  }

  await waitForSummary(page);
  await expect(page.getByTestId('run-status')).toHaveText('Completed');
  const summary = page.getByTestId('summary-card');
  await expect(summary).toContainText('Run completed');
  await expect(page.getByTestId('summary-tasks')).toHaveText('8 of 8 completed');
  await expect(page.getByTestId('summary-files')).toHaveText(/\d+ files/);
  await expect(page.getByTestId('summary-next')).toContainText('Deploy services to staging');
  await expect(page.getByTestId('toast').first()).toContainText('Run completed');
  await expect(page.getByTestId('prompt-input')).toBeEnabled();
  await page.screenshot({ path: test.info().outputPath('example1-summary.png') });

  await expectNoMissingEvents(page, await currentRunId(page));

  // The frontend task reports its code generation in three iterations (design: 8, 12, 18 files).
  await task(page, 'task_7').locator('.task-row__main').click();
  const iterations = page.getByTestId('task-details').locator('.ptask__iterations tbody tr');
  await expect(iterations).toHaveCount(3);
  await expect(iterations.nth(0)).toContainText('basic structure');
  await expect(iterations.nth(2)).toContainText('styling optimization');
  await expect(iterations.locator('td:nth-child(4)')).toHaveText(['8', '12', '18']);

  // Files: the tree lists them, the viewer highlights one, downloads are links.
  await page.getByTestId('tab-files').click();
  await expect(page.getByTestId('download-zip')).toHaveAttribute('href', /\/archive\.zip$/);
  const sql = page.locator('[data-testid="file-link"][data-path$=".sql"]').first();
  await sql.click();
  const content = page.getByTestId('file-content');
  await expect(content).toContainText('CREATE TABLE');
  await expect(content.locator('.tok-kw').first()).toBeVisible();
  await expect(page.getByTestId('download-file')).toHaveAttribute('href', /\/api\/runs\/[\w-]+\/files\/.+\.sql$/);
  await page.screenshot({ path: test.info().outputPath('example1-file.png') });

  // The project list shows the run's status.
  await page.goto('/');
  await expect(page.getByTestId('project-row').getByTestId('project-status')).toHaveText('Completed');
});
