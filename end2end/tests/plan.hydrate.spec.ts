// The plan as a user reads it: the task list with live progress, the timeline (estimated vs
// actual, parallel lanes), the DAG with its dependency edges, and a task's details (prompt,
// agent, progress messages, the files it produced) leading to the file viewer, whose Copy
// button puts the file on the clipboard.
import { test, expect } from '@playwright/test';
import { EXAMPLE_2, currentRunId, openNewWorkspace, startRun, task, waitForSummary } from './helpers';

type PlanTask = { id: string; name: string; agent: string; prompt: string; dependencies: string[]; files: string[] };

test('plan list, timeline, graph and task details; copy a generated file', async ({ page, context }) => {
  test.setTimeout(120_000);
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await openNewWorkspace(page, 'plan', 'Plan views', 'basic-auth');
  await startRun(page, EXAMPLE_2);

  // Live: a running task's row shows the progress its agent reports.
  const reported = page
    .locator('[data-testid="task-row"][data-status="running"] .task-row__detail')
    .filter({ hasNotText: 'Running…' })
    .first();
  await expect(reported).toBeVisible({ timeout: 30_000 });
  await waitForSummary(page, 90_000);

  const runId = await currentRunId(page);
  const snapshot = await (await page.request.get(`/api/runs/${runId}`)).json();
  const tasks = snapshot.plan.tasks as PlanTask[];
  expect(tasks.length).toBeGreaterThan(1);
  await expect(page.getByTestId('task-row')).toHaveCount(tasks.length);
  for (const t of tasks) await expect(task(page, t.id)).toHaveAttribute('data-status', 'completed');

  // A task's details: prompt, agent, progress messages and the files it produced.
  const withFiles = tasks.find((t) => t.files.length > 0);
  expect(withFiles, 'some task produced files').toBeTruthy();
  await task(page, withFiles!.id).locator('.task-row__main').click();
  const details = page.getByTestId('task-details');
  await expect(details.locator('.ptask__name')).toHaveText(withFiles!.name);
  await expect(details).toContainText(withFiles!.agent);
  await expect(details.locator('.ptask__prompt')).toHaveText(withFiles!.prompt);
  await expect(details.locator('.ptask__messages li')).not.toHaveCount(0);
  await expect(details).toContainText(`Files (${withFiles!.files.length})`);
  await expect(details.getByTestId('task-file')).toHaveCount(withFiles!.files.length);

  // The timeline: one bar per task, each with its actual duration next to the estimate.
  await page.getByTestId('plan-timeline-toggle').click();
  const timeline = page.getByTestId('plan-timeline');
  await expect(timeline.locator('li[data-task-id]')).toHaveCount(tasks.length);
  await expect(timeline.locator('.pbar__actual')).toHaveCount(tasks.length);
  await expect(timeline.locator('.pbar__est')).toHaveCount(tasks.length);
  // Selecting a bar selects the task.
  const other = tasks.find((t) => t.id !== withFiles!.id)!;
  await timeline.locator(`li[data-task-id="${other.id}"]`).click();
  await expect(details.locator('.ptask__name')).toHaveText(other.name);
  await page.screenshot({ path: test.info().outputPath('plan-timeline.png') });

  // The graph: a card per task and an edge per dependency.
  await page.getByTestId('center-graph').click();
  const dag = page.getByTestId('plan-dag');
  await expect(dag).toBeVisible();
  await expect(dag.locator('.pdag__cards > li')).toHaveCount(tasks.length);
  const dependencies = tasks.reduce((n, t) => n + t.dependencies.length, 0);
  await expect(dag.locator('path.pdag__edge')).toHaveCount(dependencies);
  await page.screenshot({ path: test.info().outputPath('plan-graph.png') });

  // From the details to the file viewer; Copy puts the file's text on the clipboard.
  await page.getByRole('group', { name: 'Plan view' }).getByRole('button', { name: 'List' }).click();
  await task(page, withFiles!.id).locator('.task-row__main').click();
  await details.getByTestId('task-file').first().click();
  const path = withFiles!.files[0];
  await expect(page.getByTestId('viewer-path')).toContainText(path);
  const content = page.getByTestId('file-content');
  await expect(content).not.toBeEmpty();
  await page.getByTestId('copy-file').click();
  await expect(page.getByTestId('copy-file')).toHaveText('Copied ✓');
  const served = await (await page.request.get(`/api/runs/${runId}/files/${path}`)).text();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(served);
  // The mark goes away by itself.
  await expect(page.getByTestId('copy-file')).toHaveText('Copy');
});
