// Example 2 of the design: a canvas with a basic auth service (one instance, in-memory
// sessions, one MySQL database) scaled to 5000 RPS. A load balancer, a Redis cluster, read
// replicas and monitoring appear on the canvas, and the summary says ≈5500 RPS.
import { test, expect } from '@playwright/test';
import {
  EXAMPLE_2, currentRunId, expectNoMissingEvents, nodesOfType, openNewWorkspace, startRun, waitForSummary,
} from './helpers';

test('Example 2: scale the auth service to 5000 RPS', async ({ page }) => {
  test.setTimeout(120_000);
  await openNewWorkspace(page, 'ex2', 'Auth at scale', 'basic-auth');

  const canvas = page.getByTestId('canvas');
  await expect(canvas.locator('[data-node-id="auth-service"]').first()).toBeVisible();
  await expect(canvas.locator('[data-node-id="auth-db"]').first()).toBeVisible();
  await page.screenshot({ path: test.info().outputPath('example2-before.png') });

  await startRun(page, EXAMPLE_2);
  const log = page.getByTestId('activity-log');
  await expect(log).toContainText('scale a component (auth-service)');
  await expect(log).toContainText('Found 3 bottlenecks');

  await waitForSummary(page, 90_000);
  await expect.poll(() => nodesOfType(page, 'load_balancer').count()).toBeGreaterThanOrEqual(1);
  await expect.poll(() => nodesOfType(page, 'cache').count()).toBeGreaterThanOrEqual(1);
  await expect.poll(() => nodesOfType(page, 'monitoring').count()).toBeGreaterThanOrEqual(1);
  await expect(canvas.locator('[data-node-id*="replica"]')).not.toHaveCount(0);
  await expect(canvas).toContainText(/Redis/);
  await expect(canvas).toContainText(/Read Replica/);

  await expect(page.getByTestId('summary-rps')).toHaveText('≈5500 RPS');
  await expect(page.getByTestId('summary-card')).toContainText('Run completed');
  await expect(log).toContainText('Scaling complete: ≈5500 RPS');
  await page.screenshot({ path: test.info().outputPath('example2-summary.png') });

  await expectNoMissingEvents(page, await currentRunId(page));

  // The generated configuration files are there, e.g. the load balancer's.
  await page.getByTestId('tab-files').click();
  await page.locator('[data-testid="file-link"][data-path="nginx.conf"]').click();
  await expect(page.getByTestId('file-content')).toContainText('upstream');

  // A reload of the finished run restores the summary, capacity included.
  await page.reload();
  await expect(page.getByTestId('summary-rps')).toHaveText('≈5500 RPS');
});
