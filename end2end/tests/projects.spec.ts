// Projects: create, open, rename and delete (after a confirmation), each with its latest run's
// status, with JavaScript on and off.
import { test, expect } from '@playwright/test';
import { signUpViaApi } from './helpers';

test('create, open, rename and delete a project', async ({ page }) => {
  await signUpViaApi(page, 'projects');
  await page.goto('/');
  await expect(page.getByTestId('projects-empty')).toBeVisible();

  // Create: the new project opens.
  await page.getByTestId('project-name').fill('Storefront');
  await page.getByTestId('create-project-submit').click();
  await expect(page).toHaveURL(/\/projects\/[\w-]+$/);
  await expect(page.getByTestId('project-title')).toHaveText('Storefront');
  await expect(page.getByTestId('run-status')).toHaveText('No runs yet');

  // Back to the list: the project is there, with no run yet.
  await page.goto('/');
  const row = page.getByTestId('project-row').filter({ hasText: 'Storefront' });
  await expect(row).toHaveCount(1);
  await expect(row.getByTestId('project-status')).toHaveText('No runs yet');

  // Open it from the list.
  await row.getByTestId('project-open').click();
  await expect(page.getByTestId('project-title')).toHaveText('Storefront');
  await page.goto('/');

  // Rename.
  await row.getByTestId('project-rename').click();
  await row.getByTestId('rename-input').fill('Storefront v2');
  await row.getByTestId('rename-submit').click();
  const renamed = page.getByTestId('project-row').filter({ hasText: 'Storefront v2' });
  await expect(renamed).toHaveCount(1);
  await page.screenshot({ path: test.info().outputPath('projects-list.png'), fullPage: true });

  // Delete asks first; confirming removes it.
  await renamed.getByTestId('project-delete').click();
  await expect(renamed.getByRole('alertdialog')).toContainText('This cannot be undone.');
  await page.screenshot({ path: test.info().outputPath('delete-confirm.png'), fullPage: true });
  await renamed.getByTestId('delete-confirm').click();
  await expect(page.getByTestId('projects-empty')).toBeVisible();
  await expect(page.getByTestId('project-row')).toHaveCount(0);
});

test('an empty name is refused in plain words and nothing is created', async ({ page }) => {
  await signUpViaApi(page, 'badname');
  await page.goto('/');
  const input = page.getByTestId('project-name');
  // Bypass the browser's own `required` check to see the server's answer.
  await input.evaluate((el) => el.removeAttribute('required'));
  await input.fill('   ');
  await page.getByTestId('create-project-submit').click();
  await expect(page.getByTestId('projects-error')).not.toHaveText(/^\s*$/);
  await expect(page.getByTestId('project-row')).toHaveCount(0);
});
