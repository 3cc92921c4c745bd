// Shared steps of the end-to-end tests: accounts, projects and runs through the REST API
// (fast set-up), and waits on the workspace's own state attributes (never on fixed delays).
import { expect, test, type APIRequestContext, type Page } from '@playwright/test';

export const EXAMPLE_1 =
  'Build a complete e-commerce platform with user auth, product catalog, shopping cart, and payment processing';
export const EXAMPLE_2 = 'Fix the auth service in my design and make it scalable to 5000 RPS';
export const RECOMMENDATIONS =
  ' AND recommendation engine with user behavior tracking, product similarity, and recommendation history';

let counter = 0;
/** A fresh, unique account for one test. */
export function freshEmail(tag: string): string {
  counter += 1;
  return `${tag}-${Date.now()}-${counter}-${Math.floor(Math.random() * 1e6)}@example.com`;
}

export const PASSWORD = 'correct-horse-battery';

/** The page's origin, for the CSRF check on cookie-authenticated writes. */
function origin(_page: Page): string {
  return test.info().project.use.baseURL ?? `http://127.0.0.1:${process.env.E2E_PORT ?? 3917}`;
}

async function api(page: Page): Promise<APIRequestContext> {
  return page.request;
}

/** Registers and signs in through the API; the session cookie lands in the page's context. */
export async function signUpViaApi(page: Page, tag = 'user'): Promise<string> {
  const email = freshEmail(tag);
  const request = await api(page);
  const reg = await request.post('/api/auth/register', { data: { email, password: PASSWORD } });
  expect(reg.status(), await reg.text()).toBe(201);
  const login = await request.post('/api/auth/login', { data: { email, password: PASSWORD } });
  expect(login.status(), await login.text()).toBe(200);
  return email;
}

/** Creates a project through the API and returns its id. */
export async function createProject(page: Page, name: string): Promise<string> {
  const response = await page.request.post('/api/projects', {
    data: { name },
    headers: { origin: origin(page) },
  });
  expect(response.status(), await response.text()).toBe(201);
  const body = await response.json();
  return body.project.id as string;
}

/** Example 2's starting point: a basic auth service with a single MySQL database. */
export async function seedBasicAuthCanvas(page: Page, projectId: string): Promise<void> {
  const response = await page.request.put(`/api/projects/${projectId}/canvas`, {
    headers: { origin: origin(page) },
    data: {
      version: 0,
      nodes: [
        {
          id: 'auth-service',
          type: 'microservice',
          label: 'Auth Service',
          position: { x: 100, y: 100 },
          config: { instances: 1, session_store: 'memory', database: 'mysql' },
        },
        {
          id: 'auth-db',
          type: 'database',
          label: 'MySQL',
          position: { x: 420, y: 100 },
          config: { engine: 'mysql' },
        },
      ],
      edges: [{ id: 'auth-service-auth-db', source: 'auth-service', target: 'auth-db', type: 'db' }],
    },
  });
  expect(response.status(), await response.text()).toBe(200);
}

const LARGE_CANVAS_KINDS = ['microservice', 'database', 'cache', 'queue', 'gateway', 'frontend', 'monitoring', 'load_balancer'];

/**
 * Saves an `n`-node canvas into the project: a grid of 20 columns (240 px apart, rows 140 px
 * apart, so the gaps between nodes are empty background), nodes `n0`…, labelled
 * `Component 0`…, each with one config fact, chained by edges along each row.
 */
export async function seedLargeCanvas(page: Page, projectId: string, n: number): Promise<void> {
  const nodes = Array.from({ length: n }, (_, i) => ({
    id: `n${i}`,
    type: LARGE_CANVAS_KINDS[i % LARGE_CANVAS_KINDS.length],
    label: `Component ${i}`,
    position: { x: (i % 20) * 240, y: Math.floor(i / 20) * 140 },
    config: { instances: (i % 5) + 1 },
  }));
  const edges = Array.from({ length: n - 1 }, (_, i) => i + 1)
    .filter((i) => i % 20 !== 0)
    .map((i) => ({ id: `e${i}`, source: `n${i - 1}`, target: `n${i}`, type: 'api-call' }));
  const response = await page.request.put(`/api/projects/${projectId}/canvas`, {
    headers: { origin: origin(page) },
    data: { version: 0, nodes, edges },
  });
  expect(response.status(), await response.text()).toBe(200);
}

/**
 * A fresh account's 300-node workspace, hydrated and fitted to view (the smallest zoom, so the
 * canvas draws shapes only). Returns the canvas panel.
 */
export async function openFittedLargeCanvas(page: Page, tag: string, name: string) {
  await signUpViaApi(page, tag);
  const projectId = await createProject(page, name);
  await seedLargeCanvas(page, projectId, 300);
  await openWorkspace(page, projectId);
  const canvas = page.getByTestId('canvas');
  await expect(canvas.locator('[data-node-id]')).toHaveCount(300);
  await canvas.getByRole('button', { name: 'Fit to view' }).click();
  await expect(canvas.locator('.acanvas__svg')).toHaveAttribute('data-detail', 'shapes');
  return canvas;
}

/** Opens the workspace and waits until the page is hydrated. */
export async function openWorkspace(page: Page, projectId: string): Promise<void> {
  await page.goto(`/projects/${projectId}`);
  await expect(page.getByTestId('workspace')).toHaveAttribute('data-hydrated', 'true');
}

/**
 * A fresh account with one new project, its workspace open and hydrated; `seed: 'basic-auth'`
 * starts from Example 2's canvas. Returns the project's id.
 */
export async function openNewWorkspace(
  page: Page,
  tag: string,
  name: string,
  seed: 'empty' | 'basic-auth' = 'empty',
): Promise<string> {
  await signUpViaApi(page, tag);
  const projectId = await createProject(page, name);
  if (seed === 'basic-auth') await seedBasicAuthCanvas(page, projectId);
  await openWorkspace(page, projectId);
  return projectId;
}

/** Types a request into the prompt bar and sends it with Enter. */
export async function startRun(page: Page, prompt: string): Promise<void> {
  const input = page.getByTestId('prompt-input');
  await expect(input).toBeEnabled();
  await input.fill(prompt);
  await input.press('Enter');
  // The run is accepted: the bar is disabled and says why.
  await expect(input).toBeDisabled();
  await expect(page.getByTestId('prompt-help')).toContainText('You can send a new request when it has finished');
}

/** The run id the workspace follows. */
export async function currentRunId(page: Page): Promise<string> {
  const id = await page.getByTestId('workspace').getAttribute('data-run-id');
  expect(id, 'the workspace names its run').toBeTruthy();
  return id as string;
}

/** A task row of the plan. */
export function task(page: Page, id: string) {
  return page.locator(`[data-testid="task-row"][data-task-id="${id}"]`);
}

/** Waits until the run has ended with the summary card shown. */
export async function waitForSummary(page: Page, timeout = 150_000): Promise<void> {
  await expect(page.getByTestId('summary-card')).toBeVisible({ timeout });
}

/** Every event of the run as the server stored it. */
export async function serverEvents(page: Page, runId: string): Promise<{ seq: number; type: string }[]> {
  const response = await page.request.get(`/api/runs/${runId}/events?after=0&limit=1000`);
  expect(response.status()).toBe(200);
  const body = await response.json();
  return body.events as { seq: number; type: string }[];
}

/** The seqs of the activity log's lines. */
export async function loggedSeqs(page: Page): Promise<number[]> {
  return page
    .getByTestId('activity-log')
    .locator('li[data-seq]')
    .evaluateAll((items) => items.map((li) => Number(li.getAttribute('data-seq'))));
}

/** Asserts that the activity log holds one line for every event the server stored, once. */
export async function expectNoMissingEvents(page: Page, runId: string): Promise<void> {
  const events = await serverEvents(page, runId);
  const logged = await loggedSeqs(page);
  expect(new Set(logged).size, 'no event is logged twice').toBe(logged.length);
  const missing = events.filter((e) => !logged.includes(e.seq)).map((e) => `${e.seq}:${e.type}`);
  expect(missing, 'every stored event reached the page').toEqual([]);
}

/** CSS class of each node type on the architecture canvas (`cnode--…`). */
const NODE_CLASS: Record<string, string> = {
  microservice: 'service',
  database: 'database',
  cache: 'cache',
  load_balancer: 'lb',
  queue: 'queue',
  gateway: 'gateway',
  frontend: 'frontend',
  monitoring: 'monitoring',
  external: 'external',
};

/** The canvas nodes of one contract node type. */
export function nodesOfType(page: Page, type: string) {
  return page.getByTestId('canvas').locator(`[data-node-id].cnode--${NODE_CLASS[type] ?? type}`);
}
