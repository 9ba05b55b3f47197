import { test, expect, Page } from '@playwright/test';

/** Fails the test on any script error or console error the page reports. */
function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  return errors;
}

test('the home page hydrates and shows a live price that moves', async ({ page }, testInfo) => {
  const errors = collectErrors(page);
  await page.goto('/');

  await expect(page.getByTestId('connection-status')).toHaveAttribute('data-state', 'connected');
  const price = page.getByTestId('last-price');
  await expect(price).toHaveText(/^\d+\.\d{2}$/);
  // Text and seq read together, so a tick landing between two reads cannot skew them.
  const read = () => price.evaluate((el) => ({ text: el.textContent ?? '', seq: Number(el.getAttribute('data-seq')) }));
  const first = await read();

  // The socket keeps delivering: the seq moves on and the price text changes.
  await expect.poll(async () => (await read()).seq).toBeGreaterThan(first.seq);
  await expect(price).not.toHaveText(first.text);
  await expect(page.getByText('synthetic data')).toBeVisible();

  await page.screenshot({ path: testInfo.outputPath('market.png'), fullPage: true });
  expect(errors).toEqual([]);
});

test('picking another symbol streams that symbol instead', async ({ page }) => {
  const errors = collectErrors(page);
  await page.goto('/');
  const picker = page.getByTestId('symbol-picker');
  await expect(picker.locator('option')).toHaveCount(4);
  await expect(page.getByTestId('last-price')).toHaveText(/^\d+\.\d{2}$/);

  await picker.selectOption('EURUSD');
  const price = page.getByTestId('last-price');
  // EURUSD is quoted with five decimals around 1.08.
  await expect(price).toHaveText(/^1\.\d{5}$/);
  const first = (await price.textContent()) ?? '';
  await expect(price).not.toHaveText(first);
  await expect(page.getByTestId('connection-status')).toHaveAttribute('data-state', 'connected');
  expect(errors).toEqual([]);
});
