// End-to-end tests run in Debian's headless Chromium (Playwright cannot download its own here)
// against the release binary, which scripts/serve-binary.mjs copies alone into an empty
// temporary directory and starts there. Every page test runs with JavaScript on and off;
// interactive tests are named *.hydrate.spec.ts and run with JavaScript only.
import { defineConfig } from '@playwright/test';

const port = Number(process.env.E2E_PORT ?? 3917);
const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export default defineConfig({
  testDir: './tests',
  outputDir: './test-results',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 60_000,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    screenshot: 'on',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: chromium,
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ],
    },
  },
  projects: [
    { name: 'js', use: { javaScriptEnabled: true } },
    { name: 'no-js', use: { javaScriptEnabled: false }, testIgnore: /\.hydrate\.spec\.ts$/ },
  ],
  webServer: {
    command: `node scripts/serve-binary.mjs ${port}`,
    url: `http://127.0.0.1:${port}/ready`,
    timeout: 60_000,
    reuseExistingServer: false,
    stdout: 'pipe',
    stderr: 'pipe',
  },
});
