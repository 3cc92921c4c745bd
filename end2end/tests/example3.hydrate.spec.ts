// Example 3 of the design: while Example 1 runs, edit task_2 (database schema) to add a
// recommendation engine. The modal shows the impact (tasks 3 and 6 untouched), Proceed applies
// it, only affected dependents regenerate, and the final schema has the recommendation tables.
// Also: the modal is keyboard accessible (focus inside, Esc closes, focus returns) and
// Cancel changes nothing.
import { test, expect } from '@playwright/test';
import { EXAMPLE_1, RECOMMENDATIONS, openNewWorkspace, startRun, task, waitForSummary } from './helpers';

test('Example 3: edit task_2 while it runs', async ({ page }) => {
  test.setTimeout(240_000);
  await openNewWorkspace(page, 'ex3', 'Shop with recommendations');
  await startRun(page, EXAMPLE_1);

  // Wait for the database schema task to start (after the architecture).
  await expect(task(page, 'task_2')).toHaveAttribute('data-status', 'running', { timeout: 60_000 });
  const trigger = page.getByTestId('edit-step-task_2');

  // Keyboard: the modal takes focus, Esc closes it without change, focus returns.
  await trigger.click();
  const modal = page.getByTestId('edit-step-modal');
  await expect(modal).toBeVisible();
  await expect(modal).toHaveAttribute('role', 'dialog');
  await expect(page.getByTestId('edit-step-prompt')).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(modal).toHaveCount(0);
  await expect(trigger).toBeFocused();

  // Focus stays inside while tabbing.
  await trigger.click();
  await expect(page.getByTestId('edit-step-prompt')).toBeFocused();
  for (let i = 0; i < 6; i += 1) {
    await page.keyboard.press('Tab');
    const inside = await page.evaluate(
      () => !!document.activeElement?.closest('[data-testid="edit-step-modal"]'),
    );
    expect(inside, `focus stays in the dialog after ${i + 1} Tab(s)`).toBe(true);
  }
  // Cancel changes nothing.
  await page.getByTestId('edit-step-cancel').click();
  await expect(modal).toHaveCount(0);

  // The real edit.
  await trigger.click();
  const editor = page.getByTestId('edit-step-prompt');
  const original = await editor.inputValue();
  expect(original.length).toBeGreaterThan(10);
  await editor.fill(original + RECOMMENDATIONS);
  await page.getByTestId('edit-step-analyse').click();
  const impact = page.getByTestId('impact');
  await expect(impact).toBeVisible();
  await expect(page.getByTestId('impact-headline')).toContainText('This change affects');
  const unaffected = page.getByTestId('impact-unaffected-list');
  await expect(unaffected.locator('[data-task-id="task_3"]')).toHaveCount(1);
  await expect(unaffected.locator('[data-task-id="task_6"]')).toHaveCount(1);
  await expect(page.getByTestId('impact-affected').locator('[data-task-id="task_4"]')).toHaveCount(1);
  await expect(page.getByTestId('impact-unaffected')).toContainText('continue unchanged');
  await expect(page.getByTestId('impact-time')).toHaveText(/^\+/);
  await expect(page.getByTestId('impact-cost')).toHaveText(/^\+\$\d+\.\d\d$/);
  await expect(page.getByTestId('impact-left')).toHaveText(/^\d\/3$/);
  await page.screenshot({ path: test.info().outputPath('example3-impact.png') });

  await page.getByTestId('edit-step-proceed').click();
  await expect(modal).toHaveCount(0);
  await expect(page.getByTestId('toast').filter({ hasText: 'Edited Database Schema Design' })).toBeVisible();
  const log = page.getByTestId('activity-log');
  await expect(log).toContainText('Edited Database Schema Design: regenerating');
  // The edited task says so: in its details and on its card in the graph.
  await task(page, 'task_2').locator('.task-row__main').click();
  await expect(page.getByTestId('task-details')).toContainText('×1 (at most 3)');
  await page.getByTestId('center-graph').click();
  await expect(page.getByTestId('plan-dag').locator('[data-task-id="task_2"]')).toContainText('modified ×1');
  await page.getByTestId('center-canvas').click();

  await waitForSummary(page, 200_000);
  await expect(page.getByTestId('summary-tasks')).toHaveText('8 of 8 completed');
  await page.screenshot({ path: test.info().outputPath('example3-summary.png') });

  // The final schema includes the recommendation tables.
  await page.getByTestId('tab-files').click();
  await page.locator('[data-testid="file-link"][data-path$="schema.sql"]').first().click();
  await expect(page.getByTestId('file-content')).toContainText(/CREATE TABLE\s+\w*recommendation/i);
  await page.screenshot({ path: test.info().outputPath('example3-schema.png') });
});

test('edits refused by the rules are explained in plain words', async ({ page }) => {
  test.setTimeout(150_000);
  await openNewWorkspace(page, 'ex3-rules', 'Rules');
  await startRun(page, EXAMPLE_1);
  await expect(task(page, 'task_3')).toHaveAttribute('data-status', 'pending', { timeout: 30_000 });

  // An unchanged prompt is refused by the server (invalid_prompt), in words.
  await page.getByTestId('edit-step-task_3').click();
  await page.getByTestId('edit-step-analyse').click();
  await expect(page.getByTestId('edit-step-error')).toContainText('same as the current one');

  // A real edit, then a second one right away: the cooldown says how long to wait.
  const editor = page.getByTestId('edit-step-prompt');
  await editor.fill((await editor.inputValue()) + ' Include multi-factor authentication.');
  await page.getByTestId('edit-step-analyse').click();
  await page.getByTestId('edit-step-proceed').click();
  await expect(page.getByTestId('edit-step-modal')).toHaveCount(0);
  await page.getByTestId('edit-step-task_3').click();
  // The editor starts from the edited prompt.
  await expect(editor).toHaveValue(/multi-factor authentication\.$/);
  await editor.fill((await editor.inputValue()) + ' And passkeys.');
  await page.getByTestId('edit-step-analyse').click();
  await expect(page.getByTestId('edit-step-error')).toContainText(/edited moments ago\. You can edit it again in \d+ s/);
  await page.screenshot({ path: test.info().outputPath('example3-cooldown.png') });
  await page.keyboard.press('Escape');
  await waitForSummary(page);
});
