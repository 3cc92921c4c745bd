// Untrusted text (project names, prompts, task names from the stream) is rendered as text,
// never as HTML: markup shows literally and no injected script runs, server-rendered and live.
import { test, expect } from '@playwright/test';
import { createProject, signUpViaApi } from './helpers';

const EVIL_NAME = '<img src=x onerror="window.__xss=1">Shop';
const EVIL_PROMPT =
  'Build a complete e-commerce platform <script>window.__xss=1</script> with user auth and a product catalog';
const EVIL_TASK = '<script>window.__xss=2</script>Architecture <b>Design</b>';

test('a prompt and a project name with markup render inertly', async ({ page }) => {
  test.setTimeout(90_000);
  await signUpViaApi(page, 'xss');
  const projectId = await createProject(page, EVIL_NAME);
  const origin = test.info().project.use.baseURL ?? '';
  const run = await page.request.post(`/api/projects/${projectId}/runs`, {
    data: { prompt: EVIL_PROMPT },
    headers: { origin },
  });
  expect(run.status(), await run.text()).toBe(202);

  await page.goto('/');
  await expect(page.getByTestId('project-open')).toHaveText(EVIL_NAME);
  await expect(page.locator('img[src="x"]')).toHaveCount(0);

  await page.goto(`/projects/${projectId}`);
  await expect(page.getByTestId('project-title')).toHaveText(EVIL_NAME);
  await expect(page.getByTestId('run-prompt')).toHaveText(EVIL_PROMPT);
  await expect(page.locator('img[src="x"]')).toHaveCount(0);
  await expect(page.locator('main script')).toHaveCount(0);
  if (test.info().project.use.javaScriptEnabled !== false) {
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
  }
  await page.screenshot({ path: test.info().outputPath('xss-inert.png') });
});

test('a task name with markup arriving live renders inertly', async ({ page }) => {
  test.skip(test.info().project.use.javaScriptEnabled === false, 'live events need JavaScript');
  test.setTimeout(120_000);
  // Rewrite the stream so the first task's name carries markup, as a hostile planner might.
  await page.routeWebSocket(/\/api\/ws\//, (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((m) => server.send(m));
    server.onMessage((m) => {
      if (typeof m !== 'string') {
        ws.send(m);
        return;
      }
      const event = JSON.parse(m);
      if (event.type === 'planGenerated' && Array.isArray(event.data?.tasks)) {
        event.data.tasks[0].name = EVIL_TASK;
      }
      if (event.data?.taskId === 'task_1' && typeof event.data.name === 'string') {
        event.data.name = EVIL_TASK;
      }
      ws.send(JSON.stringify(event));
    });
  });
  await signUpViaApi(page, 'xss-live');
  const projectId = await createProject(page, 'Live XSS');
  await page.goto(`/projects/${projectId}`);
  await expect(page.getByTestId('workspace')).toHaveAttribute('data-hydrated', 'true');
  const input = page.getByTestId('prompt-input');
  await input.fill(EVIL_PROMPT);
  await input.press('Enter');
  const row = page.locator('[data-testid="task-row"][data-task-id="task_1"]');
  await expect(row).toContainText(EVIL_TASK, { timeout: 30_000 });
  await expect(page.getByTestId('activity-log')).toContainText(`Started ${EVIL_TASK}`);
  await expect(page.getByTestId('run-prompt')).toHaveText(EVIL_PROMPT);
  await expect(page.locator('main b')).toHaveCount(0);
  expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
  await page.screenshot({ path: test.info().outputPath('xss-live.png') });
});
