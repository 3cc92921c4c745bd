// Layout: events streaming in shift nothing (cumulative layout shift measured while a run goes
// from start to summary), and the workspace is usable at 1280×720, on a tablet, and in the
// dark theme (no horizontal overflow; every panel on screen). Screenshots for review.
import { test, expect, type Page } from '@playwright/test';
import { EXAMPLE_2, openNewWorkspace, startRun, waitForSummary } from './helpers';

async function observeLayoutShift(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __cls: number };
    w.__cls = 0;
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries() as unknown as { value: number; hadRecentInput: boolean }[]) {
        if (!entry.hadRecentInput) w.__cls += entry.value;
      }
    }).observe({ type: 'layout-shift', buffered: false });
  });
}

test('streaming a run shifts no layout', async ({ page }) => {
  test.setTimeout(120_000);
  await page.setViewportSize({ width: 1280, height: 720 });
  await openNewWorkspace(page, 'cls', 'Layout', 'basic-auth');
  await observeLayoutShift(page);
  await startRun(page, EXAMPLE_2);
  await waitForSummary(page, 90_000);
  const cls = await page.evaluate(() => (window as unknown as { __cls: number }).__cls);
  test.info().annotations.push({ type: 'cumulative layout shift during a run', description: cls.toFixed(4) });
  console.log(`[layout] cumulative layout shift during Example 2: ${cls.toFixed(4)}`);
  expect(cls, 'cumulative layout shift while events stream in').toBeLessThan(0.05);
  await page.screenshot({ path: test.info().outputPath('workspace-1280x720.png') });
});

for (const { name, width, height, scheme } of [
  { name: 'tablet-portrait', width: 820, height: 1180, scheme: 'light' as const },
  { name: 'tablet-landscape', width: 1180, height: 820, scheme: 'light' as const },
  { name: 'desktop-dark', width: 1280, height: 720, scheme: 'dark' as const },
]) {
  test(`the workspace fits a ${name} screen`, async ({ page }) => {
    test.setTimeout(90_000);
    await page.setViewportSize({ width, height });
    await page.emulateMedia({ colorScheme: scheme });
    await openNewWorkspace(page, name, `Screen ${name}`, 'basic-auth');
    await startRun(page, EXAMPLE_2);
    await waitForSummary(page, 90_000);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, 'no horizontal scrolling').toBeLessThanOrEqual(0);
    for (const id of ['prompt-input', 'plan-panel', 'canvas', 'side-panel']) {
      await expect(page.getByTestId(id)).toBeVisible();
    }
    if (scheme === 'dark') {
      const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      expect(bg, 'the dark theme applies').toBe('rgb(15, 17, 23)');
    }
    await page.screenshot({ path: test.info().outputPath(`workspace-${name}.png`), fullPage: true });
  });
}
