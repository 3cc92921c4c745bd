// Budgets measured in the browser, printed for BENCHMARKS.md:
// - first contentful paint of the workspace on localhost (budget ≤ 500 ms);
// - dropped frames while panning and zooming a 300-node canvas, from a Chromium performance
//   trace, against a peer that draws nothing;
// - frame times of continuous pans and zooms (a requestAnimationFrame probe: a gap between two
//   frames of over 1.5 × 16.7 ms means at least one vsync was missed).
import { readFileSync } from 'node:fs';
import { test, expect, type Browser, type Locator, type Page } from '@playwright/test';
import { createProject, signUpViaApi } from './helpers';

// A rAF gap of two vsyncs (33.3 ms) is one dropped frame; 1.5 vsyncs tolerates timer jitter.
const DROPPED_MS = 1.5 * 16.7;

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

// A fresh user's 300-node workspace, hydrated and fitted to view (the smallest zoom, so the
// canvas draws shapes only); returns the canvas panel.
async function openFittedLargeCanvas(page: Page, who: string, name: string): Promise<Locator> {
  await signUpViaApi(page, who);
  const big = await createProject(page, name);
  await seedLargeCanvas(page, big, 300);
  await page.goto(`/projects/${big}`);
  await expect(page.getByTestId('workspace')).toHaveAttribute('data-hydrated', 'true');
  const canvas = page.getByTestId('canvas');
  await canvas.getByRole('button', { name: 'Fit to view' }).click();
  await expect(canvas.locator('.acanvas__svg')).toHaveAttribute('data-detail', 'shapes');
  return canvas;
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

test('workspace first contentful paint', async ({ page }) => {
  test.setTimeout(120_000);
  await signUpViaApi(page, 'perf');
  const small = await createProject(page, 'FCP');
  const samples: number[] = [];
  for (let i = 0; i < 3; i += 1) {
    await page.goto(`/projects/${small}`);
    samples.push(await firstContentfulPaint(page));
  }
  samples.sort((a, b) => a - b);
  const fcp = samples[1];
  report('workspace FCP (median of 3, ms)', fcp.toFixed(0));

  const big = await createProject(page, 'Three hundred nodes');
  await seedLargeCanvas(page, big, 300);
  await page.goto(`/projects/${big}`);
  await expect(page.getByTestId('workspace')).toHaveAttribute('data-hydrated', 'true');
  report('300-node workspace FCP (ms)', (await firstContentfulPaint(page)).toFixed(0));

  expect(fcp, 'workspace first contentful paint budget').toBeLessThanOrEqual(500);
});

// One pan (a mouse drag along a curve) and one wheel zoom (10 steps in, 10 out) of a freshly
// loaded 300-node workspace, recorded in a Chromium performance trace. A frame counts as
// dropped the way Chromium's own frame reporter (DevTools' "Dropped frame") counts it: a
// `PipelineReporter` frame that affects smoothness and ended `STATE_DROPPED`.
async function tracedPanAndZoom(page: Page, browser: Browser, projectId: string, peer: boolean) {
  await page.goto(`/projects/${projectId}`);
  await expect(page.getByTestId('workspace')).toHaveAttribute('data-hydrated', 'true');
  await expect(page.locator('[data-testid="canvas"] [data-node-id]')).toHaveCount(300);
  if (peer) {
    // The peer: the same page, input and gestures with the canvas' content not drawn, so
    // what it drops belongs to the browser and this machine, not to the canvas.
    await page.addStyleTag({ content: '.acanvas__svg [data-viewport] { display: none }' });
  }
  const box = await page.locator('.acanvas__svg').boundingBox();
  expect(box).not.toBeNull();
  if (!box) throw new Error('no canvas box');
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  await browser.startTracing(page, { categories: ['cc', 'benchmark'] });
  await page.mouse.move(cx, cy);
  await page.mouse.down();
  for (let i = 0; i < 60; i += 1) {
    await page.mouse.move(cx + Math.cos(i / 6) * 150, cy + Math.sin(i / 6) * 100);
  }
  await page.mouse.up();
  for (let i = 0; i < 20; i += 1) {
    await page.mouse.wheel(0, i < 10 ? -120 : 120);
  }
  const trace = JSON.parse((await browser.stopTracing()).toString()) as {
    traceEvents: { name: string; ph: string; args?: { frame_reporter?: { state?: string; affects_smoothness?: boolean } } }[];
  };
  const frames = trace.traceEvents
    .filter((e) => e.name === 'PipelineReporter' && e.ph === 'b')
    .map((e) => e.args?.frame_reporter ?? {});
  const smooth = frames.filter((f) => f.affects_smoothness);
  return {
    frames: frames.length,
    presented: frames.filter((f) => f.state === 'STATE_PRESENTED_ALL').length,
    dropped: smooth.filter((f) => f.state === 'STATE_DROPPED').length,
  };
}

test('300-node canvas: pan and zoom drop no frames in a Chromium performance trace', async ({ page, browser }) => {
  test.setTimeout(180_000);
  await signUpViaApi(page, 'trace');
  const big = await createProject(page, 'Traced canvas');
  await seedLargeCanvas(page, big, 300);
  const runs: Record<'canvas' | 'peer', { frames: number; presented: number; dropped: number }[]> = {
    canvas: [],
    peer: [],
  };
  for (let round = 0; round < 3; round += 1) {
    runs.canvas.push(await tracedPanAndZoom(page, browser, big, false));
    runs.peer.push(await tracedPanAndZoom(page, browser, big, true));
  }
  const total = (side: 'canvas' | 'peer', key: 'frames' | 'presented' | 'dropped') =>
    runs[side].reduce((sum, r) => sum + r[key], 0);
  for (const side of ['canvas', 'peer'] as const) {
    report(
      `300-node pan + zoom, ${side === 'canvas' ? 'canvas drawn' : 'peer, nothing drawn'}: dropped frames per round (frames presented)`,
      runs[side].map((r) => `${r.dropped} (${r.presented})`).join(', '),
    );
  }
  await page.screenshot({ path: test.info().outputPath('perf-300-nodes.png') });
  expect(total('canvas', 'presented'), 'the trace saw the frames of the gestures').toBeGreaterThan(100);
  // One stray frame over three rounds is tolerated as scheduling noise of a 2-core machine;
  // the regression this guards against (a filling animation on every node) dropped 3–6 per round.
  expect(total('canvas', 'dropped'), 'frames the 300-node canvas drops beyond its peer').toBeLessThanOrEqual(
    total('peer', 'dropped') + 1,
  );
});

// The level of detail's effect, measured: the viewport transform of a 300-node canvas at the
// fitted zoom is changed every frame (a continuous drag, without Playwright's input latency),
// with the level of detail on and with every text forced back on, alternating, 3 rounds.
test('300-node canvas: frame times of a continuous pan with and without the level of detail', async ({ page }) => {
  test.setTimeout(120_000);
  await openFittedLargeCanvas(page, 'lodbench', 'Level of detail bench');
  const stats = (d: number[]) => {
    const s = [...d].sort((a, b) => a - b);
    return {
      avg: s.reduce((a, b) => a + b, 0) / s.length,
      p95: s[Math.floor(s.length * 0.95)],
      dropped: s.filter((x) => x > DROPPED_MS).length,
      n: s.length,
    };
  };
  const results: Record<string, number[][]> = { lod: [], full: [] };
  for (let round = 0; round < 3; round += 1) {
    for (const variant of ['lod', 'full'] as const) {
      const deltas = await page.evaluate(async (forceText) => {
        const svg = document.querySelector('[data-testid="canvas"] .acanvas__svg') as SVGSVGElement;
        const layer = svg.querySelector('[data-viewport]') as SVGGElement;
        const style = document.createElement('style');
        if (forceText) style.textContent = '.acanvas__svg .cnode text { display: inline !important }';
        document.head.appendChild(style);
        const base = layer.getAttribute('transform') ?? '';
        const times: number[] = [];
        for (let i = 0; i < 120; i += 1) {
          times.push(await new Promise<number>((r) => requestAnimationFrame(r)));
          layer.setAttribute('transform', `translate(${Math.cos(i / 6) * 150} ${Math.sin(i / 6) * 100}) ${base}`);
        }
        layer.setAttribute('transform', base);
        style.remove();
        return times.slice(2).map((t, i) => t - times[i + 1]);
      }, variant === 'full');
      results[variant].push(deltas);
    }
  }
  for (const [variant, rounds] of Object.entries(results)) {
    const all = stats(rounds.flat());
    report(
      `300-node continuous pan, ${variant === 'lod' ? 'level of detail (shapes)' : 'all text drawn'}: avg/p95 (ms), dropped`,
      `${all.avg.toFixed(1)} / ${all.p95.toFixed(1)}, ${all.dropped} of ${all.n}`,
    );
    expect(all.n, 'the probe saw frames').toBeGreaterThan(100);
  }
});

// Zooming re-rasterises every glyph at each new scale: while a wheel or pinch gesture is under
// way a large canvas draws shapes only, and its text returns once the gesture settles.
test('a large canvas draws shapes only while a zoom gesture is under way', async ({ page }) => {
  test.setTimeout(120_000);
  const canvas = await openFittedLargeCanvas(page, 'zoomlod', 'Zoom gesture');
  const svg = canvas.locator('.acanvas__svg');
  await canvas.getByRole('button', { name: 'Reset zoom' }).click();
  await expect(svg).toHaveAttribute('data-detail', 'full');
  const label = canvas.locator('[data-node-id="n0"] .cnode__label');
  await expect(label).toBeVisible();
  const box = await svg.boundingBox();
  expect(box).not.toBeNull();
  if (!box) return;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  // Record every level the attribute takes from the first wheel step on.
  await page.evaluate(() => {
    const el = document.querySelector('[data-testid="canvas"] .acanvas__svg') as SVGSVGElement;
    const w = window as unknown as { __levels: string[] };
    w.__levels = [];
    new MutationObserver(() => w.__levels.push(el.getAttribute('data-detail') ?? '')).observe(el, {
      attributes: true,
      attributeFilter: ['data-detail'],
    });
  });
  for (let i = 0; i < 6; i += 1) {
    await page.mouse.wheel(0, -60);
  }
  // It settles back to every text drawn (the zoom is still ≥ 50 %).
  await expect(svg).toHaveAttribute('data-detail', 'full');
  await expect(label).toBeVisible();
  const levels = await page.evaluate(() => (window as unknown as { __levels: string[] }).__levels);
  expect(levels[0], 'the first wheel step drops the text').toBe('shapes');
  expect(levels[levels.length - 1]).toBe('full');
});

// The zoom gesture's level of detail, measured: the scale of a 300-node canvas around 100 % is
// changed every frame, with every text drawn (as before) and with shapes only (what a zoom
// gesture now draws), alternating, 3 rounds.
test('300-node canvas: frame times of a continuous zoom with text and with shapes only', async ({ page }) => {
  test.setTimeout(120_000);
  const canvas = await openFittedLargeCanvas(page, 'zoombench', 'Zoom bench');
  await canvas.getByRole('button', { name: 'Reset zoom' }).click();
  await expect(canvas.locator('.acanvas__svg')).toHaveAttribute('data-detail', 'full');
  const results: Record<string, number[]> = { full: [], shapes: [] };
  for (let round = 0; round < 3; round += 1) {
    for (const level of ['full', 'shapes'] as const) {
      const deltas = await page.evaluate(async (level) => {
        const svg = document.querySelector('[data-testid="canvas"] .acanvas__svg') as SVGSVGElement;
        const layer = svg.querySelector('[data-viewport]') as SVGGElement;
        const before = svg.getAttribute('data-detail') ?? 'full';
        svg.setAttribute('data-detail', level);
        const base = layer.getAttribute('transform') ?? '';
        const times: number[] = [];
        for (let i = 0; i < 120; i += 1) {
          times.push(await new Promise<number>((r) => requestAnimationFrame(r)));
          const k = 1 + 0.3 * Math.sin(i / 8);
          layer.setAttribute('transform', `${base} scale(${k})`);
        }
        layer.setAttribute('transform', base);
        svg.setAttribute('data-detail', before);
        return times.slice(2).map((t, i) => t - times[i + 1]);
      }, level);
      results[level].push(...deltas);
    }
  }
  for (const [level, deltas] of Object.entries(results)) {
    const s = [...deltas].sort((a, b) => a - b);
    const avg = s.reduce((a, b) => a + b, 0) / s.length;
    const dropped = s.filter((x) => x > DROPPED_MS).length;
    report(
      `300-node continuous zoom, ${level === 'full' ? 'all text drawn' : 'shapes only (zoom gesture)'}: avg/p95 (ms), dropped`,
      `${avg.toFixed(1)} / ${s[Math.floor(s.length * 0.95)].toFixed(1)}, ${dropped} of ${s.length}`,
    );
    expect(s.length, 'the probe saw frames').toBeGreaterThan(100);
  }
});

test('a zoomed-out canvas drops unreadable text on screen but exports every label', async ({ page }) => {
  test.setTimeout(120_000);
  // Fit to view shows all 300 nodes at the smallest zoom: shapes only.
  const canvas = await openFittedLargeCanvas(page, 'lod', 'Level of detail');
  const svg = canvas.locator('.acanvas__svg');
  const label = canvas.locator('[data-node-id="n0"] .cnode__label');
  await expect(label).toBeHidden();

  // The exported SVG has every node with its label and facts drawn.
  const [svgDownload] = await Promise.all([
    page.waitForEvent('download'),
    canvas.getByTestId('canvas-export-svg').click(),
  ]);
  expect(svgDownload.suggestedFilename()).toMatch(/\.svg$/);
  const file = await svgDownload.path();
  const text = readFileSync(file, 'utf8');
  expect(text.startsWith('<svg')).toBe(true);
  expect(text.match(/data-node-id="/g)?.length).toBe(300);
  expect(text).toContain('Component 299');
  expect(text).not.toContain('data-detail');
  const hiddenTexts = text.match(/<text class="cnode__(label|fact|badge)"[^>]*display:\s*none/g) ?? [];
  expect(hiddenTexts, 'no text hidden in the file').toHaveLength(0);
  // Exporting did not change what the screen shows.
  await expect(svg).toHaveAttribute('data-detail', 'shapes');

  // PNG: a real PNG file.
  const [pngDownload] = await Promise.all([
    page.waitForEvent('download'),
    canvas.getByTestId('canvas-export-png').click(),
  ]);
  expect(pngDownload.suggestedFilename()).toMatch(/\.png$/);
  const png = readFileSync(await pngDownload.path());
  expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');

  // Back at 100 %: everything is drawn again.
  await canvas.getByRole('button', { name: 'Reset zoom' }).click();
  await expect(svg).toHaveAttribute('data-detail', 'full');
  await expect(label).toBeVisible();
});
