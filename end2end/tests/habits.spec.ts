import { test, expect } from '@playwright/test';
import { collectErrors } from './helpers';

// Issue 12, items 4 and 8: the page knows when the server runs another build, and it is
// usable from the keyboard, with a screen reader and in either system theme.

test('a page from another build than the server offers a reload; the same build does not', async ({ page }) => {
  const errors = collectErrors(page);
  await page.goto('/');
  await expect(page.getByTestId('connection-status')).toHaveAttribute('data-state', 'connected');
  await expect(page.getByTestId('last-price')).toHaveText(/^\d/);
  await expect(page.getByTestId('update-banner')).toHaveCount(0);

  // After a deploy the server names a build this page was not compiled from.
  await page.routeWebSocket(/\/api\/ws/, (ws) => {
    const server = ws.connectToServer();
    server.onMessage((message) => {
      const text = message.toString();
      ws.send(text.includes('"type":"connected"') ? text.replace(/"build":"[^"]*"/, '"build":"deployed-later"') : text);
    });
  });
  await page.reload();
  const banner = page.getByTestId('update-banner');
  await expect(banner).toBeVisible();
  await expect(banner).toHaveAttribute('role', 'alert');
  await expect(banner.getByRole('button', { name: 'Reload' })).toBeVisible();
  expect(errors).toEqual([]);
});

test('status changes are announced, controls work from the keyboard, figures do not shift', async ({ page }) => {
  const errors = collectErrors(page);
  await page.goto('/');
  await expect(page.getByTestId('connection-status')).toHaveAttribute('data-state', 'connected');
  const announced = page.getByTestId('connection-status').getByRole('status');
  await expect(announced).toHaveAttribute('aria-live', 'polite');
  await expect(announced).toHaveText('connected');

  // Space on the focused switch turns the socket off and on again.
  const toggle = page.getByTestId('realtime-toggle');
  await toggle.focus();
  await page.keyboard.press('Space');
  await expect(page.getByTestId('metrics-mode')).toHaveText('polling');
  await page.keyboard.press('Space');
  await expect(page.getByTestId('metrics-mode')).toHaveText('real-time');

  const numerals = await page.getByTestId('last-price').evaluate((e) => getComputedStyle(e).fontVariantNumeric);
  expect(numerals).toContain('tabular-nums');
  expect(errors).toEqual([]);
});

test('the theme follows the system: dark, or light', async ({ page }) => {
  const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.goto('/');
  expect(await background()).toBe('rgb(14, 17, 23)');
  await page.emulateMedia({ colorScheme: 'light' });
  expect(await background()).toBe('rgb(246, 248, 250)');
});
