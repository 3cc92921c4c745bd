// The workspace works as a server-rendered page too: with JavaScript off the prompt bar is a
// plain form, the run's state is rendered from its snapshot on each load, file links open the
// viewer, and downloads are ordinary links. With JavaScript on the same markup hydrates.
import { test, expect } from '@playwright/test';
import { EXAMPLE_2, createProject, seedBasicAuthCanvas, signUpViaApi } from './helpers';

test('start a run from the prompt form and read its result and files', async ({ page }) => {
  test.setTimeout(120_000);
  await signUpViaApi(page, 'ws');
  const projectId = await createProject(page, 'Form run');
  await seedBasicAuthCanvas(page, projectId);
  await page.goto(`/projects/${projectId}`);
  await expect(page.getByTestId('run-status')).toHaveText('No runs yet');
  await expect(page.getByTestId('prompt-help')).toContainText('Enter to run');

  await page.getByTestId('prompt-input').fill(EXAMPLE_2);
  await page.getByTestId('prompt-submit').click();
  await expect(page.getByTestId('run-prompt')).toHaveText(EXAMPLE_2);

  // Reload until the server renders the finished run (no live updates without JavaScript).
  await expect(async () => {
    await page.goto(`/projects/${projectId}`);
    await expect(page.getByTestId('summary-card')).toBeVisible({ timeout: 1_000 });
  }).toPass({ timeout: 60_000, intervals: [2_000] });
  await expect(page.getByTestId('summary-rps')).toHaveText('≈5500 RPS');
  await expect(page.getByTestId('task-row')).toHaveCount(6);
  await expect(page.getByTestId('activity-log')).toContainText('Scaling complete');

  // File links are real URLs: the server renders the viewer.
  await page.getByTestId('tab-files').click();
  const link = page.locator('[data-testid="file-link"][data-path="nginx.conf"]');
  await link.click();
  await expect(page.getByTestId('viewer-path')).toHaveText('nginx.conf');
  await expect(page.getByTestId('file-content')).toContainText('upstream');
  await expect(page.getByTestId('download-zip')).toHaveAttribute('href', /\/archive\.zip$/);
  const download = await page.request.get((await page.getByTestId('download-file').getAttribute('href')) ?? '');
  expect(download.status()).toBe(200);
  expect(await download.text()).toContain('upstream');
  await page.screenshot({ path: test.info().outputPath('workspace-file.png') });
});
