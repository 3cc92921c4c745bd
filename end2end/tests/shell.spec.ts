// The first page is rendered on the server: it must be complete and styled with JavaScript off,
// and the same with it on.
import { test, expect } from '@playwright/test';

test('the projects page is served complete by SSR', async ({ page }) => {
  const response = await page.goto('/');
  expect(response?.status()).toBe(200);
  await expect(page).toHaveTitle(/YouMeYou/);
  await expect(page.getByRole('link', { name: 'YouMeYou home' })).toBeVisible();
  await expect(page.getByRole('heading', { level: 1, name: 'Your projects' })).toBeVisible();
  await expect(page.getByTestId('projects-empty')).toContainText('No projects yet');
  // The design system's style sheet is applied (header is a flex row with a bottom border).
  const header = page.locator('header.app-header');
  await expect(header).toHaveCSS('display', 'flex');
  await page.screenshot({ path: test.info().outputPath('projects.png'), fullPage: true });
});

test('an unknown page gets the 404 page with a way back', async ({ page }) => {
  const response = await page.goto('/no/such/page');
  expect(response?.status()).toBe(404);
  await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Back to your projects' })).toHaveAttribute('href', '/');
});
