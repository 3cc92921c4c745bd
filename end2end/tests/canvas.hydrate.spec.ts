// The canvas as a user works it: drag a component (the position is saved), select it to read
// its configuration, zoom and fit, and undo/redo — a move is one step, everything a run changed
// is one step, and an undo is stored (a reload keeps it); components a run adds arrive
// highlighted; the background pans, the wheel and a two-finger pinch zoom.
import { test, expect, type Page } from '@playwright/test';
import { EXAMPLE_2, openNewWorkspace, startRun, waitForSummary } from './helpers';

type Stored = { nodes: { id: string; type: string; position?: { x: number; y: number } }[]; version: number };

async function storedCanvas(page: Page, projectId: string): Promise<Stored> {
  const response = await page.request.get(`/api/projects/${projectId}`);
  expect(response.status()).toBe(200);
  return (await response.json()).project.canvas as Stored;
}

async function storedPosition(page: Page, projectId: string, id: string): Promise<string> {
  const node = (await storedCanvas(page, projectId)).nodes.find((n) => n.id === id);
  return node?.position ? `${node.position.x},${node.position.y}` : 'none';
}

test('drag, select, zoom, and undo/redo a move and a whole run', async ({ page }) => {
  test.setTimeout(120_000);
  const projectId = await openNewWorkspace(page, 'canvas', 'Canvas at work', 'basic-auth');

  const canvas = page.getByTestId('architecture-canvas');
  const svg = canvas.locator('.acanvas__svg');
  const auth = svg.locator('[data-node-id="auth-service"]');
  const undo = page.getByTestId('canvas-undo');
  const redo = page.getByTestId('canvas-redo');
  await expect(auth).toHaveAttribute('transform', 'translate(100 100)');
  await expect(redo).toHaveAttribute('aria-disabled', 'true');
  await expect(redo).toHaveAttribute('title', 'Nothing to redo');

  // Select: a click shows the component's details; Escape closes them.
  await auth.click();
  const details = page.getByTestId('canvas-details');
  await expect(details).toHaveAttribute('data-selected-node', 'auth-service');
  await expect(details).toContainText('Auth Service');
  await expect(details).toContainText('memory');
  await svg.press('Escape');
  await expect(details).toHaveCount(0);

  // Zoom with the buttons, then fit the diagram to the view.
  const zoom = canvas.locator('.acanvas__zoom');
  const before = await zoom.textContent();
  await canvas.getByRole('button', { name: 'Zoom in' }).click();
  await expect(zoom).not.toHaveText(before ?? '');
  // Twice: fitting two components never zooms in this far.
  const once = await zoom.textContent();
  await canvas.getByRole('button', { name: 'Zoom in' }).click();
  await expect(zoom).not.toHaveText(once ?? '');
  const zoomed = await zoom.textContent();
  await canvas.getByRole('button', { name: 'Fit to view' }).click();
  await expect(zoom).not.toHaveText(zoomed ?? '');

  // Drag the auth service; the new position is saved.
  const box = await auth.boundingBox();
  expect(box).not.toBeNull();
  const x = box!.x + box!.width / 2;
  const y = box!.y + box!.height / 2;
  await page.mouse.move(x, y);
  await page.mouse.down();
  for (let i = 1; i <= 8; i += 1) await page.mouse.move(x + 20 * i, y + 10 * i);
  await page.mouse.up();
  await expect.poll(() => storedPosition(page, projectId, 'auth-service')).not.toBe('100,100');
  const moved = await storedPosition(page, projectId, 'auth-service');
  const [mx, my] = moved.split(',');
  await expect(auth).toHaveAttribute('transform', `translate(${mx} ${my})`);
  await expect(undo).toHaveAttribute('title', 'Undo your change to the canvas (Ctrl+Z)');

  // Undo puts it back (stored), redo moves it again.
  await undo.click();
  await expect(auth).toHaveAttribute('transform', 'translate(100 100)');
  await expect.poll(() => storedPosition(page, projectId, 'auth-service')).toBe('100,100');
  await expect(redo).toHaveAttribute('aria-disabled', 'false');
  await redo.click();
  await expect(auth).toHaveAttribute('transform', `translate(${mx} ${my})`);
  await expect.poll(() => storedPosition(page, projectId, 'auth-service')).toBe(moved);

  // Record each component as it enters the drawing, and whether it arrived highlighted.
  const seeded = new Set((await storedCanvas(page, projectId)).nodes.map((n) => n.id));
  await svg.evaluate((root) => {
    const arrivals: { id: string; highlighted: boolean }[] = [];
    (window as unknown as { arrivals: typeof arrivals }).arrivals = arrivals;
    new MutationObserver((records) => {
      for (const r of records) {
        for (const added of r.addedNodes) {
          if (!(added instanceof Element)) continue;
          const nodes = added.matches('[data-node-id]') ? [added] : [...added.querySelectorAll('[data-node-id]')];
          for (const n of nodes) {
            arrivals.push({ id: n.getAttribute('data-node-id') ?? '', highlighted: n.classList.contains('is-highlighted') });
          }
        }
      }
    }).observe(root, { subtree: true, childList: true });
  });

  // A run: while it changes the canvas, undo waits and says why.
  await startRun(page, EXAMPLE_2);
  await expect(undo).toHaveAttribute('aria-disabled', 'true');
  await expect(undo).toHaveAttribute('title', 'Undo and redo are available when the run has finished');
  await waitForSummary(page, 90_000);
  const after = Number(await canvas.getAttribute('data-node-count'));
  expect(after, 'the run added components').toBeGreaterThan(2);
  await expect(undo).toHaveAttribute('title', "Undo the run's changes to the canvas (Ctrl+Z)");
  await page.screenshot({ path: test.info().outputPath('canvas-after-run.png') });
  // Every component the run added was highlighted the moment it was drawn.
  const added = (await storedCanvas(page, projectId)).nodes.map((n) => n.id).filter((id) => !seeded.has(id));
  const arrivals = await page.evaluate(
    () => (window as unknown as { arrivals: { id: string; highlighted: boolean }[] }).arrivals,
  );
  expect(added.length).toBeGreaterThan(1);
  for (const id of added) {
    const first = arrivals.find((a) => a.id === id);
    expect(first, `${id} was drawn during the run`).toBeTruthy();
    expect(first!.highlighted, `${id} arrived highlighted`).toBe(true);
  }

  // One undo takes back everything the run changed, however many merges it made.
  await undo.click();
  await expect(canvas).toHaveAttribute('data-node-count', '2');
  await expect.poll(async () => (await storedCanvas(page, projectId)).nodes.length).toBe(2);
  await expect(auth).toHaveAttribute('transform', `translate(${mx} ${my})`);
  await page.screenshot({ path: test.info().outputPath('canvas-undone.png') });

  // Redo brings it all back; Ctrl+Z on the canvas undoes it again.
  await redo.click();
  await expect(canvas).toHaveAttribute('data-node-count', String(after));
  await expect(svg.locator('.cnode--lb')).not.toHaveCount(0);
  await expect(undo).toHaveAttribute('aria-disabled', 'false');
  await svg.focus();
  await page.keyboard.press('Control+z');
  await expect(canvas).toHaveAttribute('data-node-count', '2');
  await expect(svg.locator('.cnode--lb')).toHaveCount(0);

  // The undo is stored: a reload shows the canvas as it was before the run.
  await page.reload();
  await expect(page.getByTestId('workspace')).toHaveAttribute('data-hydrated', 'true');
  await expect(canvas).toHaveAttribute('data-node-count', '2');
  await expect(auth).toHaveAttribute('transform', `translate(${mx} ${my})`);
  await expect(undo).toHaveAttribute('aria-disabled', 'false');
});

/** The viewport's translate and scale, read from the drawing's transform. */
async function viewport(page: Page): Promise<{ x: number; y: number; k: number }> {
  const t = (await page.locator('[data-testid="architecture-canvas"] g[data-viewport]').getAttribute('transform')) ?? '';
  const m = /translate\(([-\d.]+) ([-\d.]+)\) scale\(([-\d.]+)\)/.exec(t);
  expect(m, `a viewport transform: ${t}`).not.toBeNull();
  return { x: Number(m![1]), y: Number(m![2]), k: Number(m![3]) };
}

test('pan by dragging the background, zoom with the wheel and with a two-finger pinch', async ({ page }) => {
  await openNewWorkspace(page, 'gestures', 'Gestures', 'basic-auth');
  const canvas = page.getByTestId('architecture-canvas');
  const svg = canvas.locator('.acanvas__svg');
  await expect(canvas).toHaveAttribute('data-hydrated', 'true');
  const box = (await svg.boundingBox())!;
  // An empty spot: the bottom-left corner, away from the two components.
  const bx = box.x + 30;
  const by = box.y + box.height - 30;

  // Pan: dragging the background moves the view by the drag, the scale stays.
  const start = await viewport(page);
  await page.mouse.move(bx, by);
  await page.mouse.down();
  for (let i = 1; i <= 5; i += 1) await page.mouse.move(bx + 16 * i, by - 8 * i);
  await page.mouse.up();
  await expect.poll(async () => (await viewport(page)).x).toBeCloseTo(start.x + 80, 0);
  const panned = await viewport(page);
  expect(panned.y).toBeCloseTo(start.y - 40, 0);
  expect(panned.k).toBe(start.k);
  // The drag moved no component.
  await expect(svg.locator('[data-node-id="auth-service"]')).toHaveAttribute('transform', 'translate(100 100)');

  // Wheel: up zooms in, down zooms out.
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.wheel(0, -240);
  await expect.poll(async () => (await viewport(page)).k).toBeGreaterThan(panned.k);
  const wheeled = await viewport(page);
  await page.mouse.wheel(0, 240);
  await expect.poll(async () => (await viewport(page)).k).toBeLessThan(wheeled.k);

  // Pinch: two touch points moving apart zoom in, moving together zoom out.
  const before = await viewport(page);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Emulation.setTouchEmulationEnabled', { enabled: true, maxTouchPoints: 2 });
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height - 60;
  const fingers = (d: number) => [
    { x: cx - d, y: cy, id: 0 },
    { x: cx + d, y: cy, id: 1 },
  ];
  const pinch = async (from: number, to: number) => {
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: fingers(from) });
    for (let i = 1; i <= 6; i += 1) {
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: fingers(from + ((to - from) * i) / 6) });
    }
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
  };
  await pinch(40, 120);
  await expect.poll(async () => (await viewport(page)).k).toBeGreaterThan(before.k * 2);
  const spread = await viewport(page);
  await pinch(120, 40);
  await expect.poll(async () => (await viewport(page)).k).toBeLessThan(spread.k / 2);
});
