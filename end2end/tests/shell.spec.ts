// The pages are rendered on the server: complete and styled with JavaScript off, and the same
// with it on. Signed-out visitors are sent to the sign-in page.
import { test, expect } from '@playwright/test';
import { signUpViaApi } from './helpers';

test('a signed-out visitor is sent to the sign-in page, served complete by SSR', async ({ page }) => {
  const response = await page.goto('/');
  expect(response?.status()).toBe(200);
  await expect(page).toHaveURL(/\/login$/);
  await expect(page).toHaveTitle(/Sign in/);
  await expect(page.getByRole('link', { name: 'YouMeYou home' })).toBeVisible();
  await expect(page.getByRole('heading', { level: 1, name: 'Sign in' })).toBeVisible();
  await expect(page.getByTestId('sign-in-link')).toBeVisible();
  // The design system's style sheet is applied (header is a flex row with a bottom border).
  await expect(page.locator('header.app-header')).toHaveCSS('display', 'flex');
  await page.screenshot({ path: test.info().outputPath('login.png'), fullPage: true });
});

test('the projects page is served complete by SSR', async ({ page }) => {
  const email = await signUpViaApi(page, 'shell');
  const response = await page.goto('/');
  expect(response?.status()).toBe(200);
  await expect(page).toHaveTitle(/YouMeYou/);
  await expect(page.getByRole('heading', { level: 1, name: 'Your projects' })).toBeVisible();
  await expect(page.getByTestId('projects-empty')).toContainText('No projects yet');
  await expect(page.getByTestId('user-email')).toHaveText(email);
  await expect(page.locator('header.app-header')).toHaveCSS('display', 'flex');
  await page.screenshot({ path: test.info().outputPath('projects.png'), fullPage: true });
});

test('an unknown page gets the 404 page with a way back', async ({ page }) => {
  const response = await page.goto('/no/such/page');
  expect(response?.status()).toBe(404);
  await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Back to your projects' })).toHaveAttribute('href', '/');
});
