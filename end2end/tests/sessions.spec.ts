import { test, expect, Page } from '@playwright/test';
import { collectErrors } from './helpers';

/** The open positions a page shows, as comparable rows. */
async function positions(page: Page): Promise<string[]> {
  return page
    .getByTestId('session-positions')
    .locator('tbody tr')
    .evaluateAll((rows) =>
      rows.map((r) => ['data-position-id', 'data-side', 'data-qty', 'data-entry'].map((a) => r.getAttribute(a)).join(' ')),
    );
}

test('a session started from the form trades live, and two pages show the same positions', async ({ browser }, testInfo) => {
  const first = await browser.newPage();
  const errors = collectErrors(first);
  await first.goto('/sessions');
  const form = first.locator('form.session-form');
  await expect(form.locator('select[name=symbol] option')).not.toHaveCount(0);
  await form.locator('select[name=symbol]').selectOption('ETH-USD');
  await form.locator('select[name=strategy]').selectOption('buy_and_hold');
  await first.getByTestId('session-start').click();
  await expect(first).toHaveURL(/\/sessions\/s-/);
  const url = first.url();

  // Buy and hold buys on its first closed candle and fills at the next print.
  await expect(first.getByTestId('session-positions').locator('tbody tr')).toHaveCount(1, { timeout: 20_000 });
  await expect(first.getByTestId('session-decisions')).toContainText('BUY');
  await expect(first.getByTestId('session-countdown')).toHaveText(/Next bar in \d+ s/);
  await expect(first.getByTestId('session-pnl')).toContainText('Equity');

  const second = await browser.newPage();
  await second.goto(url);
  await expect(second.getByTestId('session-positions').locator('tbody tr')).toHaveCount(1);
  expect(await positions(second)).toEqual(await positions(first));
  await expect(second.getByTestId('session-decisions')).toContainText('BUY');
  await first.screenshot({ path: testInfo.outputPath('session.png'), fullPage: true });

  // Stopping closes the position at the last price, in both pages.
  await second.getByRole('button', { name: 'Stop session' }).click();
  await expect(second.getByTestId('control-state')).toHaveAttribute('data-state', 'done');
  for (const page of [first, second]) {
    await expect(page.getByTestId('session-positions').locator('tbody tr')).toHaveCount(0);
    await expect(page.getByTestId('session-closed').locator('tbody tr')).toHaveCount(1);
    await expect(page.getByTestId('session-countdown')).toContainText('Ended: stopped');
  }
  expect(errors).toEqual([]);
  // Pages of their own contexts outlive the test unless closed (their sockets too).
  await Promise.all([first.close(), second.close()]);
});

test('orders by hand reach the session: a forced entry and exit, on its chart and in the overview', async ({ page, request }) => {
  const errors = collectErrors(page);
  const id = `by-hand-${Date.now().toString(36)}`;
  // An outside agent's session that no agent drives: it holds until told otherwise.
  const started = await request.post('/api/sessions', {
    data: { id, symbol: 'ETH-USD', strategy: 'external', cash: 1_000_000 },
  });
  expect(started.status()).toBe(201);

  await page.goto('/sessions');
  const row = page.getByTestId('sessions-overview').locator(`tr[data-session-id="${id}"]`);
  await expect(row).toHaveAttribute('data-state', 'running');
  await row.getByRole('link', { name: id }).click();
  await expect(page).toHaveURL(new RegExp(`/sessions/${id}$`));

  await page.locator('[data-testid=force-entry][data-side=long]').click();
  await expect(page.getByTestId('control-state')).toHaveAttribute('data-state', 'done');
  const open = page.getByTestId('session-positions').locator('tbody tr');
  await expect(open).toHaveCount(1, { timeout: 20_000 });
  await expect(open.first()).toHaveAttribute('data-side', 'long');
  await expect(page.getByTestId('session-decisions').locator('li[data-source=manual][data-action=buy]')).toHaveCount(1);
  // Its entry on the session's chart (once a closed bar holds it).
  const chart = page.getByTestId('price-chart');
  await expect(chart.locator('[data-testid=trade-marker][data-action=entry][data-side=long]')).toHaveCount(1, { timeout: 20_000 });

  // Holding long already, the entry button waits; the exit closes the position.
  await expect(page.locator('[data-testid=force-entry][data-side=long]')).toBeDisabled();
  await page.getByTestId('force-exit').click();
  await expect(open).toHaveCount(0, { timeout: 20_000 });
  await expect(page.getByTestId('session-closed').locator('tbody tr')).toHaveCount(1);
  await expect(page.getByTestId('session-decisions').locator('li[data-source=manual][data-action=close]')).toHaveCount(1);
  await expect(chart.getByTestId('trade-marker')).toHaveCount(2, { timeout: 20_000 });
  await expect(chart.locator(`.trade-link`)).toHaveCount(1);
  await expect(page.getByTestId('force-exit')).toBeDisabled();

  await page.getByRole('button', { name: 'Stop session' }).click();
  await expect(page.getByTestId('session-countdown')).toContainText('Ended: stopped');
  expect(errors).toEqual([]);
});
