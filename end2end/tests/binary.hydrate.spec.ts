// The single deployable binary: started alone from an empty directory, it serves its embedded,
// precompressed assets, and the page hydrates (an interactive element responds).
import { test, expect } from '@playwright/test';
import { readFileSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';

const server = JSON.parse(readFileSync(resolve(__dirname, '../.server.json'), 'utf8')) as {
  dir: string;
  binary: string;
};

test('the binary runs alone in an empty directory', async () => {
  // Only the binary itself and the data directory it created on start.
  expect(readdirSync(server.dir).sort()).toEqual(['data', 'youmeyou']);
});

test('embedded assets are precompressed, typed and revalidated with ETags', async ({ request }) => {
  const wasm = await request.get('/pkg/youmeyou_bg.wasm', { headers: { 'accept-encoding': 'br' } });
  expect(wasm.status()).toBe(200);
  expect(wasm.headers()['content-type']).toBe('application/wasm');
  expect(wasm.headers()['content-encoding']).toBe('br');
  const etag = wasm.headers()['etag'];
  expect(etag).toMatch(/^".+-br"$/);
  const again = await request.get('/pkg/youmeyou_bg.wasm', {
    headers: { 'accept-encoding': 'br', 'if-none-match': etag },
  });
  expect(again.status()).toBe(304);
  const gz = await request.get('/pkg/youmeyou.js', { headers: { 'accept-encoding': 'gzip' } });
  expect(gz.headers()['content-encoding']).toBe('gzip');
  expect(gz.headers()['content-type']).toContain('text/javascript');
  const css = await request.get('/pkg/youmeyou.css', { headers: { 'accept-encoding': 'identity' } });
  expect(css.headers()['content-encoding']).toBeUndefined();
  expect(await css.text()).toContain('--accent');
});

// The budget of issue 5 (BENCHMARKS.md, Web UI budgets): what a browser downloads to hydrate
// any page. The binary embeds it brotli'd (quality 11, window 22), so its Content-Length is it.
const WASM_BUDGET_BYTES = 400 * 1024;

test('the hydrated WASM is within its budget of 400 KiB after brotli', async ({ request }) => {
  const wasm = await request.get('/pkg/youmeyou_bg.wasm', { headers: { 'accept-encoding': 'br' } });
  expect(wasm.headers()['content-encoding']).toBe('br');
  const bytes = Number(wasm.headers()['content-length']);
  test.info().annotations.push({ type: 'wasm-brotli-bytes', description: String(bytes) });
  console.log(`hydrated WASM after brotli: ${bytes} B (budget ${WASM_BUDGET_BYTES} B)`);
  expect(bytes).toBeGreaterThan(100 * 1024); // a real bundle, not an error page
  expect(bytes).toBeLessThanOrEqual(WASM_BUDGET_BYTES);
});

test('the page hydrates: the theme switch responds', async ({ page }) => {
  await page.goto('/');
  const toggle = page.getByTestId('theme-toggle');
  await expect(toggle).toHaveAttribute('data-hydrated', 'true');
  const before = await page.locator('html').getAttribute('data-theme');
  await toggle.click();
  const expected = before === 'dark' ? 'light' : 'dark';
  await expect(page.locator('html')).toHaveAttribute('data-theme', expected);
  await expect(toggle).toHaveAttribute('aria-pressed', String(expected === 'dark'));
  // The choice survives a reload.
  await page.reload();
  await expect(page.getByTestId('theme-toggle')).toHaveAttribute('data-hydrated', 'true');
  await expect(page.locator('html')).toHaveAttribute('data-theme', expected);
  await page.screenshot({ path: test.info().outputPath(`theme-${expected}.png`) });
});
