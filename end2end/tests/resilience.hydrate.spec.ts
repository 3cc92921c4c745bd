// The live view survives what happens to real pages: a reload mid-run restores everything from
// the snapshot and continues live; going offline and online again mid-run loses no event; a
// blocked WebSocket falls back to Server-Sent Events.
import { test, expect } from '@playwright/test';
import {
  EXAMPLE_1, currentRunId, expectNoMissingEvents, loggedSeqs, openNewWorkspace, startRun, task, waitForSummary,
} from './helpers';

test('a reload mid-run restores the run and continues live', async ({ page }) => {
  test.setTimeout(180_000);
  await openNewWorkspace(page, 'reload', 'Reload');
  await startRun(page, EXAMPLE_1);
  await expect(task(page, 'task_1')).toHaveAttribute('data-status', 'completed', { timeout: 60_000 });
  await expect(page.getByTestId('workspace')).toHaveAttribute('data-run-status', 'running');
  const runId = await currentRunId(page);
  const before = await loggedSeqs(page);

  await page.reload();
  // Server-rendered from the snapshot: the same run, its finished task, its log and files.
  const workspace = page.getByTestId('workspace');
  await expect(workspace).toHaveAttribute('data-run-id', runId);
  await expect(task(page, 'task_1')).toHaveAttribute('data-status', 'completed');
  await expect(page.getByTestId('task-row')).toHaveCount(8);
  const after = await loggedSeqs(page);
  expect(after.length).toBeGreaterThanOrEqual(before.length);
  expect(after.slice(0, before.length)).toEqual(before);
  await expect(page.getByTestId('activity-log')).toContainText('Plan ready: 8 tasks');
  await expect(page.getByTestId('tab-files')).toContainText(/Files \(\d+\)/);
  await expect(page.getByTestId('prompt-input')).toBeDisabled();
  await page.screenshot({ path: test.info().outputPath('reload-restored.png') });

  // And it continues live from the snapshot's last seq to the end.
  await expect(workspace).toHaveAttribute('data-hydrated', 'true');
  await expect(page.getByTestId('conn-state')).toHaveAttribute('data-state', 'live');
  await waitForSummary(page);
  await expect(page.getByTestId('summary-tasks')).toHaveText('8 of 8 completed');
  await expectNoMissingEvents(page, runId);
});

test('offline and online again mid-run: no event is missing', async ({ page, context }) => {
  test.setTimeout(180_000);
  await openNewWorkspace(page, 'offline', 'Offline');
  await startRun(page, EXAMPLE_1);
  await expect(page.getByTestId('conn-state')).toHaveAttribute('data-state', 'live');
  await expect(page.getByTestId('activity-log')).toContainText('Started Architecture Design');
  const runId = await currentRunId(page);

  await context.setOffline(true);
  await expect(page.getByTestId('conn-state')).toHaveAttribute('data-state', 'offline');
  await page.screenshot({ path: test.info().outputPath('offline.png') });
  // While offline the server goes on: wait until it has produced events the page cannot have.
  const seqAtOffline = Number(await page.getByTestId('workspace').getAttribute('data-last-seq'));
  await expect
    .poll(async () => {
      const r = await page.request.get(`/api/runs/${runId}/events?after=${seqAtOffline}&limit=1`);
      return (await r.json()).events.length;
    })
    .toBeGreaterThan(0);

  await context.setOffline(false);
  await expect(page.getByTestId('conn-state')).not.toHaveAttribute('data-state', 'offline');
  await waitForSummary(page);
  await expectNoMissingEvents(page, runId);
});

test('with WebSockets blocked the page falls back to Server-Sent Events', async ({ page }) => {
  test.setTimeout(180_000);
  // Every WebSocket to the run stream is closed at once, as by a proxy that does not pass them.
  await page.routeWebSocket(/\/api\/ws\//, (ws) => {
    ws.close({ code: 1011, reason: 'blocked by the test' });
  });
  await openNewWorkspace(page, 'nows', 'No WebSockets');
  await startRun(page, EXAMPLE_1);
  await expect(page.getByTestId('conn-state')).toHaveAttribute('data-state', 'sse', { timeout: 45_000 });
  await expect(page.getByTestId('conn-state')).toHaveText('Live (SSE)');
  await page.screenshot({ path: test.info().outputPath('fallback-sse.png') });
  await waitForSummary(page);
  await expectNoMissingEvents(page, await currentRunId(page));
});

test('with WebSockets and Server-Sent Events both blocked the page polls', async ({ page }) => {
  test.setTimeout(180_000);
  await page.routeWebSocket(/\/api\/ws\//, (ws) => {
    ws.close({ code: 1011, reason: 'blocked by the test' });
  });
  // The SSE stream (`/events/{run}`) fails like a proxy that refuses streaming responses; the
  // REST history (`/api/runs/{run}/events`) that polling reads stays open.
  let sseRefused = 0;
  await page.route(/^https?:\/\/[^/]+\/events\//, (route) => {
    sseRefused += 1;
    return route.fulfill({ status: 502, body: 'streaming refused by the test' });
  });
  await openNewWorkspace(page, 'nostream', 'Polling only');
  await startRun(page, EXAMPLE_1);
  const conn = page.getByTestId('conn-state');
  await expect(conn).toHaveAttribute('data-state', 'polling', { timeout: 90_000 });
  await expect(conn).toHaveText('Live (polling)');
  expect(sseRefused, 'SSE was tried before polling').toBeGreaterThan(0);
  await page.screenshot({ path: test.info().outputPath('fallback-polling.png') });
  await waitForSummary(page);
  await expect(page.getByTestId('summary-tasks')).toHaveText('8 of 8 completed');
  await expectNoMissingEvents(page, await currentRunId(page));
});
