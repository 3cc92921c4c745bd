// The browser benchmark (`./dev bench browser`): bench/*.bench.ts against the release binary,
// in the same headless Chromium and server set-up as the tests (playwright.config.ts), with
// JavaScript on. It prints machine-dependent figures (frame counts, frame times, paint times)
// for BENCHMARKS.md and fails only when a measurement is void; CI does not run it (the default
// config's testDir is ./tests).
import base from './playwright.config';
import { defineConfig } from '@playwright/test';

const port = Number(process.env.E2E_PORT ?? 3927);

export default defineConfig({
  ...base,
  testDir: './bench',
  testMatch: /\.bench\.ts$/,
  outputDir: './test-results/bench',
  timeout: 300_000,
  use: {
    ...base.use,
    baseURL: `http://127.0.0.1:${port}`,
    screenshot: 'off',
    trace: 'off',
  },
  projects: [{ name: 'js', use: { javaScriptEnabled: true } }],
  webServer: {
    command: `node scripts/serve-binary.mjs ${port}`,
    url: `http://127.0.0.1:${port}/ready`,
    timeout: 60_000,
    reuseExistingServer: false,
    stdout: 'pipe',
    stderr: 'pipe',
  },
});
