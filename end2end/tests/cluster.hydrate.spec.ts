// Example 1 across two instances of the release binary on one PostgreSQL and one Redis (the
// multi-instance mode, docs/DEPLOY.md): the page is served by A, the run is started on and
// driven by B. Everything the run does reaches the page through A: the plan, the canvas, the
// summary, every event once.
import { test, expect } from '@playwright/test';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EXAMPLE_1, PASSWORD, freshEmail, nodesOfType } from './helpers';

const PG = process.env.YOUMEYOU_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS = process.env.YOUMEYOU_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const schema = `e2e_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
const instances: Record<string, { child: ChildProcess; base: string }> = {};

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
  const address = probe.address();
  await new Promise<void>((done) => probe.close(() => done()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

function psql(sql: string): void {
  execFileSync('psql', [PG, '-v', 'ON_ERROR_STOP=1', '-qc', sql], {
    stdio: 'inherit',
    env: { ...process.env, PGOPTIONS: '-c client_min_messages=warning' },
  });
}

test.beforeAll(async () => {
  psql(`CREATE SCHEMA ${schema}`);
  const { binary } = JSON.parse(readFileSync(resolve('.server.json'), 'utf8')) as { binary: string };
  for (const id of ['A', 'B']) {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const child = spawn(binary, ['serve'], {
      cwd: mkdtempSync(join(tmpdir(), `youmeyou-e2e-cluster-${id}-`)),
      stdio: 'inherit',
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        YOUMEYOU_ADDR: `127.0.0.1:${port}`,
        YOUMEYOU_LOG: 'warn',
        YOUMEYOU_PACE: '0.2',
        DATABASE_URL: `${PG}?options=-c%20search_path%3D${schema}`,
        REDIS_URL: REDIS,
        YOUMEYOU_REDIS_PREFIX: `${schema}:`,
        YOUMEYOU_INSTANCE_ID: id,
        YOUMEYOU_JWT_SECRET: 'e2e-cluster-secret-e2e-cluster-secret-0123456789',
        YOUMEYOU_REGISTER_PER_IP_PER_HOUR: '1000',
        YOUMEYOU_LOGIN_PER_IP_PER_MIN: '1000',
      },
    });
    instances[id] = { child, base };
    await expect
      .poll(async () => (await fetch(`${base}/ready`).catch(() => undefined))?.status, { timeout: 30_000 })
      .toBe(200);
  }
});

test.afterAll(async () => {
  for (const { child } of Object.values(instances)) child.kill('SIGTERM');
  await Promise.all(
    Object.values(instances).map(({ child }) => new Promise((done) => (child.exitCode !== null ? done(null) : child.once('exit', done)))),
  );
  psql(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
});

test('Example 1 driven by instance B, watched in a page served by instance A', async ({ page }) => {
  test.setTimeout(180_000);
  const a = instances.A.base;
  const b = instances.B.base;
  // An account and a project made through A.
  const email = freshEmail('cluster');
  const signUp = await page.request.post(`${a}/api/auth/register`, { data: { email, password: PASSWORD }, headers: { origin: a } });
  expect(signUp.status(), await signUp.text()).toBe(201);
  const login = await page.request.post(`${a}/api/auth/login`, { data: { email, password: PASSWORD }, headers: { origin: a } });
  expect(login.status(), await login.text()).toBe(200);
  const token = (await login.json()).token as string;
  const created = await page.request.post(`${a}/api/projects`, { data: { name: 'Two instances' }, headers: { origin: a } });
  expect(created.status(), await created.text()).toBe(201);
  const projectId = (await created.json()).project.id as string;

  // The run starts on B, which drives it.
  const started = await page.request.post(`${b}/api/projects/${projectId}/runs`, {
    data: { prompt: EXAMPLE_1 },
    headers: { authorization: `Bearer ${token}` },
  });
  expect(started.status(), await started.text()).toBe(202);
  const runId = (await started.json()).buildId as string;

  // The page on A follows it live.
  await page.goto(`${a}/projects/${projectId}`);
  await expect(page.getByTestId('workspace')).toHaveAttribute('data-hydrated', 'true');
  await expect(page.getByTestId('workspace')).toHaveAttribute('data-run-id', runId);
  await expect(page.getByTestId('task-row')).toHaveCount(8, { timeout: 30_000 });
  await expect(page.getByTestId('conn-state')).toHaveAttribute('data-state', 'live');
  await expect(page.getByTestId('summary-card')).toBeVisible({ timeout: 150_000 });
  await expect(page.getByTestId('run-status')).toHaveText('Completed');
  await expect(page.getByTestId('summary-tasks')).toHaveText('8 of 8 completed');
  for (const id of ['auth-service', 'product-service', 'cart-service', 'payment-service']) {
    await expect(page.getByTestId('canvas').locator(`[data-node-id="${id}"]`).first()).toBeVisible();
  }
  await expect.poll(() => nodesOfType(page, 'microservice').count()).toBeGreaterThanOrEqual(4);

  // Every event B stored reached the page on A, once.
  const response = await page.request.get(`${a}/api/runs/${runId}/events?after=0&limit=1000`, {
    headers: { authorization: `Bearer ${token}` },
  });
  expect(response.status()).toBe(200);
  const events = (await response.json()).events as { seq: number; type: string }[];
  const logged = await page
    .getByTestId('activity-log')
    .locator('li[data-seq]')
    .evaluateAll((items) => items.map((li) => Number(li.getAttribute('data-seq'))));
  expect(new Set(logged).size, 'no event is logged twice').toBe(logged.length);
  expect(events.filter((e) => !logged.includes(e.seq)).map((e) => `${e.seq}:${e.type}`)).toEqual([]);
  await page.screenshot({ path: test.info().outputPath('cluster-example1.png') });
});
