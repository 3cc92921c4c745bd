// A run that has to wait: while every run slot of the server (4 by default) is taken, the
// activity panel shows the run's queue position with an estimated wait, and the run starts by
// itself when a slot frees.
import { test, expect, type APIRequestContext, type Page } from '@playwright/test';
import { EXAMPLE_1, EXAMPLE_2, PASSWORD, freshEmail, openNewWorkspace, startRun, waitForSummary } from './helpers';

const SLOTS = 4;

/** Another user, signed in with a bearer token, whose long run takes a slot. */
async function occupySlot(api: APIRequestContext, n: number): Promise<{ runId: string; headers: Record<string, string> }> {
  const email = freshEmail(`blocker${n}`);
  // The shared request context keeps the previous blocker's session cookie, so its
  // cookie-carrying register and login need an Origin (the CSRF check); the rest uses the token.
  const origin = { origin: test.info().project.use.baseURL ?? '' };
  const register = await api.post('/api/auth/register', { data: { email, password: PASSWORD }, headers: origin });
  expect(register.status(), await register.text()).toBe(201);
  const login = await api.post('/api/auth/login', { data: { email, password: PASSWORD }, headers: origin });
  expect(login.status(), await login.text()).toBe(200);
  const headers = { authorization: `Bearer ${(await login.json()).token}` };
  const project = await api.post('/api/projects', { data: { name: `Blocker ${n}` }, headers });
  expect(project.status(), await project.text()).toBe(201);
  const projectId = (await project.json()).project.id;
  const run = await api.post(`/api/projects/${projectId}/runs`, { data: { prompt: EXAMPLE_1 }, headers });
  expect(run.status(), await run.text()).toBe(202);
  return { runId: (await run.json()).buildId, headers };
}

test('a queued run shows its position and wait, and starts when a slot frees', async ({ page, playwright }) => {
  test.setTimeout(120_000);
  const api = await playwright.request.newContext({ baseURL: test.info().project.use.baseURL });
  const blockers: { runId: string; headers: Record<string, string> }[] = [];
  try {
    await queuedRun(page, api, blockers);
  } finally {
    // Whatever happened, free the slots for the tests that follow.
    for (const b of blockers) await api.post(`/api/runs/${b.runId}/cancel`, { headers: b.headers });
    await api.dispose();
  }
});

async function queuedRun(
  page: Page,
  api: APIRequestContext,
  blockers: { runId: string; headers: Record<string, string> }[],
): Promise<void> {
  for (let n = 0; n < SLOTS; n += 1) blockers.push(await occupySlot(api, n));
  // Every slot is taken once the blockers are running.
  for (const b of blockers) {
    await expect
      .poll(async () => (await (await api.get(`/api/runs/${b.runId}`, { headers: b.headers })).json()).status)
      .not.toBe('queued');
  }

  await openNewWorkspace(page, 'queued', 'Waiting in line', 'basic-auth');
  await startRun(page, EXAMPLE_2);

  const queue = page.getByTestId('queue-position');
  await expect(queue).toContainText('Position 1 in the queue');
  await expect(queue).toContainText('estimated wait');
  await expect(page.getByTestId('run-status-line')).toContainText('Queued: position 1 of 1');
  await expect(page.getByTestId('prompt-help')).toContainText('You can send a new request when it has finished');
  await page.screenshot({ path: test.info().outputPath('queued.png') });

  // One blocker is cancelled: the run takes its slot and goes on to the end.
  const cancel = await api.post(`/api/runs/${blockers[0].runId}/cancel`, { headers: blockers[0].headers });
  expect(cancel.status(), await cancel.text()).toBe(202);
  await expect(queue).toHaveCount(0, { timeout: 30_000 });
  await waitForSummary(page, 90_000);
  await expect(page.getByTestId('summary-rps')).toHaveText('≈5500 RPS');
}
