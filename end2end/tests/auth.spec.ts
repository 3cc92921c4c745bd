// Sign-up, sign-in and sign-out through the pages, with JavaScript on (hydrated forms) and off
// (plain form posts answered with redirects). Refusals are said in plain words.
import { test, expect } from '@playwright/test';
import { freshEmail, PASSWORD } from './helpers';

test('register, sign out, refuse a wrong password, sign in again', async ({ page }) => {
  const email = freshEmail('auth');

  // A password that is too short is refused in plain words, and the email is kept.
  await page.goto('/register');
  await page.getByTestId('register-email').fill(email);
  await page.getByTestId('register-password').fill('short');
  await page.getByTestId('register-submit').click();
  await expect(page.getByTestId('form-error')).toContainText('The password is too short: use at least 8 characters.');
  await expect(page.getByTestId('register-email')).toHaveValue(email);
  await page.screenshot({ path: test.info().outputPath('register-error.png') });

  // A good one creates the account and signs in.
  await page.getByTestId('register-password').fill(PASSWORD);
  await page.getByTestId('register-submit').click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Your projects' })).toBeVisible();
  await expect(page.getByTestId('user-email')).toHaveText(email);

  // Signing out from the header menu ends the session.
  await page.getByTestId('user-menu').locator('summary').click();
  await page.getByTestId('logout').click();
  await expect(page).toHaveURL(/\/login\?signed_out=1$/);
  await expect(page.getByTestId('signed-out')).toContainText('You have signed out.');
  await page.goto('/');
  await expect(page).toHaveURL(/\/login/);

  // The same email cannot register twice.
  await page.goto('/register');
  await page.getByTestId('register-email').fill(email);
  await page.getByTestId('register-password').fill(PASSWORD);
  await page.getByTestId('register-submit').click();
  await expect(page.getByTestId('form-error')).toContainText('An account with that email already exists.');

  // A wrong password is refused in plain words.
  await page.goto('/login');
  await page.getByTestId('login-email').fill(email);
  await page.getByTestId('login-password').fill('not-the-password');
  await page.getByTestId('login-submit').click();
  await expect(page.getByTestId('form-error')).toContainText('The email or password is wrong.');
  await page.screenshot({ path: test.info().outputPath('login-error.png') });

  // The right one signs in.
  await page.getByTestId('login-email').fill(email);
  await page.getByTestId('login-password').fill(PASSWORD);
  await page.getByTestId('login-submit').click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByTestId('user-email')).toHaveText(email);
});

test('a signed-out visitor of a project comes back to it after signing in', async ({ page, request }) => {
  const email = freshEmail('next');
  await request.post('/api/auth/register', { data: { email, password: PASSWORD } });
  await page.goto('/projects/some-project');
  await expect(page).toHaveURL(/\/login\?next=%2Fprojects%2Fsome-project$/);
  await page.getByTestId('login-email').fill(email);
  await page.getByTestId('login-password').fill(PASSWORD);
  await page.getByTestId('login-submit').click();
  await expect(page).toHaveURL(/\/projects\/some-project$/);
  await expect(page.getByRole('heading', { name: 'Project not found' })).toBeVisible();
});
