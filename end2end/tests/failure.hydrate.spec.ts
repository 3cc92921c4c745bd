// A run whose tasks fail: a second instance of the release binary is configured with an
// OpenAI-compatible provider that refuses the API key (a local HTTP server answering 401, as
// the real one does). Intent and plan fall back to the built-in engine; the tasks the model
// does fail, and the page says which, why, and that the run ended without success.
import { test, expect, type Page } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EXAMPLE_1, PASSWORD, freshEmail, task } from './helpers';

let provider: Server;
let instance: ChildProcess;
let base = '';
const requests: string[] = [];

/** A port nobody listens on right now. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
  const address = probe.address();
  await new Promise<void>((done) => probe.close(() => done()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

test.beforeAll(async () => {
  // The provider: every request is refused like OpenAI refuses a wrong key.
  provider = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    req.resume();
    res.writeHead(401, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message: 'Incorrect API key provided: sk-wrong', type: 'invalid_request_error' } }));
  });
  const providerPort = await freePort();
  await new Promise<void>((done) => provider.listen(providerPort, '127.0.0.1', done));

  // The same release binary the other tests use, alone in its own empty directory.
  const { binary } = JSON.parse(readFileSync(resolve('.server.json'), 'utf8')) as { binary: string };
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  instance = spawn(binary, ['serve'], {
    cwd: mkdtempSync(join(tmpdir(), 'youmeyou-e2e-llm-')),
    stdio: 'inherit',
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      YOUMEYOU_ADDR: `127.0.0.1:${port}`,
      YOUMEYOU_LOG: 'error',
      YOUMEYOU_PACE: '0.2',
      YOUMEYOU_LLM_PROVIDER: 'openai',
      YOUMEYOU_LLM_BASE_URL: `http://127.0.0.1:${providerPort}/v1`,
      YOUMEYOU_LLM_API_KEY: 'sk-wrong',
      YOUMEYOU_LLM_MODEL: 'test-model',
    },
  });
  await expect
    .poll(async () => (await fetch(`${base}/ready`).catch(() => undefined))?.status, { timeout: 30_000 })
    .toBe(200);
});

test.afterAll(async () => {
  instance?.kill('SIGTERM');
  await new Promise<void>((done) => (provider ? provider.close(() => done()) : done()));
});

async function signedInProject(page: Page): Promise<string> {
  const headers = { origin: base };
  const email = freshEmail('llm-refused');
  const register = await page.request.post(`${base}/api/auth/register`, { data: { email, password: PASSWORD }, headers });
  expect(register.status(), await register.text()).toBe(201);
  const login = await page.request.post(`${base}/api/auth/login`, { data: { email, password: PASSWORD }, headers });
  expect(login.status(), await login.text()).toBe(200);
  const project = await page.request.post(`${base}/api/projects`, { data: { name: 'Wrong key' }, headers });
  expect(project.status(), await project.text()).toBe(201);
  return (await project.json()).project.id as string;
}

test('tasks refused by the model provider show as failed with the reason', async ({ page }) => {
  test.setTimeout(120_000);
  const projectId = await signedInProject(page);
  await page.goto(`${base}/projects/${projectId}`);
  await expect(page.getByTestId('workspace')).toHaveAttribute('data-hydrated', 'true');
  const input = page.getByTestId('prompt-input');
  await input.fill(EXAMPLE_1);
  await input.press('Enter');

  // The run ends, without success, and says so.
  await expect(page.getByTestId('summary-card')).toBeVisible({ timeout: 90_000 });
  await expect(page.getByTestId('run-status')).toHaveText('Failed');
  expect(requests.length, 'the provider was asked').toBeGreaterThan(0);
  // A toast for each task that failed by itself, none for the dependents that could not run.
  const toasts = page.getByTestId('toast');
  await expect(toasts.filter({ hasText: 'Architecture Design failed: the provider refused' })).toHaveCount(1);
  await expect(toasts.filter({ hasText: 'not run' })).toHaveCount(0);

  // The LLM's warnings reach the log: the built-in engine stood in for intent and plan.
  const log = page.getByTestId('activity-log');
  await expect(log).toContainText('the built-in classifier was used');
  await expect(page.getByTestId('task-row')).toHaveCount(8);

  // The first task the model does failed with the provider's reason in words; its dependents
  // say which task they waited for.
  const architecture = task(page, 'task_1');
  await expect(architecture).toHaveAttribute('data-status', 'failed');
  await expect(architecture.locator('.task-row__detail')).toContainText('refused our credentials (HTTP 401)');
  await expect(task(page, 'task_2')).toHaveAttribute('data-status', 'failed');
  await expect(task(page, 'task_2').locator('.task-row__detail')).toContainText('"Architecture Design", failed');
  await architecture.locator('.task-row__main').click();
  const error = page.getByTestId('task-details').locator('.ptask__error');
  await expect(error).toContainText('Incorrect API key provided');
  // …and what to do about it.
  await expect(error.locator('.ptask__next')).toContainText('YOUMEYOU_LLM_API_KEY');
  await expect(log).toContainText('✗ Architecture Design — the provider refused our credentials (HTTP 401)');
  // The key itself never reaches the page.
  await expect(page.locator('body')).not.toContainText('sk-wrong');
  await page.screenshot({ path: test.info().outputPath('task-failed.png') });
});
