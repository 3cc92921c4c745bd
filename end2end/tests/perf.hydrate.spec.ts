// Budgets measured in the browser, printed for BENCHMARKS.md:
// - first contentful paint of the workspace on localhost (budget ≤ 500 ms);
// - frame times while panning and zooming a 300-node canvas (a requestAnimationFrame probe:
//   a frame over 2 × 16.7 ms counts as dropped).
import { test, expect, type Page } from '@playwright/test';
import { createProject, signUpViaApi } from './helpers';

const KINDS = ['microservice', 'database', 'cache', 'queue', 'gateway', 'frontend', 'monitoring', 'load_balancer'];

async function seedLargeCanvas(page: Page, projectId: string, n: number): Promise<void> {
  const nodes = Array.from({ length: n }, (_, i) => ({
    id: `n${i}`,
    type: KINDS[i % KINDS.length],
    label: `Component ${i}`,
    position: { x: (i % 20) * 240, y: Math.floor(i / 20) * 140 },
    config: { instances: (i % 5) + 1 },
  }));
  const edges = Array.from({ length: n - 1 }, (_, i) => i + 1)
    .filter((i) => i % 20 !== 0)
    .map((i) => ({ id: `e${i}`, source: `n${i - 1}`, target: `n${i}`, type: 'api-call' }));
  const origin = test.info().project.use.baseURL ?? '';
  const response = await page.request.put(`/api/projects/${projectId}/canvas`, {
    headers: { origin },
    data: { version: 0, nodes, edges },
  });
  expect(response.status(), await response.text()).toBe(200);
}

async function firstContentfulPaint(page: Page): Promise<number> {
  return page.evaluate(
    () =>
      new Promise<number>((resolve) => {
        const existing = performance.getEntriesByName('first-contentful-paint')[0];
        if (existing) {
          resolve(existing.startTime);
          return;
        }
        new PerformanceObserver((list) => {
          const entry = list.getEntriesByName('first-contentful-paint')[0];
          if (entry) resolve(entry.startTime);
        }).observe({ type: 'paint', buffered: true });
      }),
  );
}

function report(name: string, value: string): void {
  test.info().annotations.push({ type: name, description: value });
  console.log(`[perf] ${name}: ${value}`);
}

test('workspace first contentful paint and 300-node canvas frame times', async ({ page }) => {
  test.setTimeout(120_000);
  await signUpViaApi(page, 'perf');

  // FCP of a workspace (a fresh load of the page, server-rendered).
  const small = await createProject(page, 'FCP');
  const samples: number[] = [];
  for (let i = 0; i < 3; i += 1) {
    await page.goto(`/projects/${small}`);
    samples.push(await firstContentfulPaint(page));
  }
  samples.sort((a, b) => a - b);
  const fcp = samples[1];
  report('workspace FCP (median of 3, ms)', fcp.toFixed(0));

  // 300 nodes: load, then pan and zoom while a rAF probe records every frame.
  const big = await createProject(page, 'Three hundred nodes');
  await seedLargeCanvas(page, big, 300);
  await page.goto(`/projects/${big}`);
  await expect(page.getByTestId('workspace')).toHaveAttribute('data-hydrated', 'true');
  const fcpBig = await firstContentfulPaint(page);
  report('300-node workspace FCP (ms)', fcpBig.toFixed(0));
  const svg = page.locator('.acanvas__svg');
  await expect(page.locator('[data-testid="canvas"] [data-node-id]')).toHaveCount(300);
  const box = await svg.boundingBox();
  expect(box).not.toBeNull();
  if (!box) return;

  await page.evaluate(() => {
    const w = window as unknown as { __frames: number[]; __probe: boolean };
    w.__frames = [];
    w.__probe = true;
    const tick = (t: number) => {
      w.__frames.push(t);
      if (w.__probe) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  // Pan: drag the background in a circle-ish path.
  await page.mouse.move(cx, cy);
  await page.mouse.down();
  for (let i = 0; i < 60; i += 1) {
    await page.mouse.move(cx + Math.cos(i / 6) * 150, cy + Math.sin(i / 6) * 100);
  }
  await page.mouse.up();
  // Zoom in and out with the wheel.
  for (let i = 0; i < 20; i += 1) {
    await page.mouse.wheel(0, i < 10 ? -120 : 120);
  }
  const frames = await page.evaluate(() => {
    const w = window as unknown as { __frames: number[]; __probe: boolean };
    w.__probe = false;
    return w.__frames;
  });
  const deltas = frames.slice(1).map((t, i) => t - frames[i]);
  deltas.sort((a, b) => a - b);
  const avg = deltas.reduce((a, b) => a + b, 0) / Math.max(1, deltas.length);
  const p95 = deltas[Math.floor(deltas.length * 0.95)] ?? 0;
  const max = deltas[deltas.length - 1] ?? 0;
  const dropped = deltas.filter((d) => d > 2 * 16.7).length;
  report('300-node pan/zoom frames', String(deltas.length));
  report('300-node frame time avg/p95/max (ms)', `${avg.toFixed(1)} / ${p95.toFixed(1)} / ${max.toFixed(1)}`);
  report('300-node dropped frames (>33 ms)', `${dropped} of ${deltas.length}`);
  await page.screenshot({ path: test.info().outputPath('perf-300-nodes.png') });

  expect(fcp, 'workspace first contentful paint budget').toBeLessThanOrEqual(500);
  expect(deltas.length, 'the probe saw frames').toBeGreaterThan(10);
  expect(max, 'no long stall while panning and zooming').toBeLessThan(500);
});
