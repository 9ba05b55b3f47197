import { test, expect } from '@playwright/test';
import { collectErrors } from './helpers';

test('backtests started from the form stream to 100 % with final metrics, several at once', async ({ page, request }, testInfo) => {
  const errors = collectErrors(page);
  await page.goto('/backtests');
  const form = page.locator('form.backtest-form');
  await expect(form.locator('select[name=dataset] option')).not.toHaveCount(0);
  await form.locator('select[name=dataset]').selectOption('GOOG');
  await form.locator('select[name=strategy]').selectOption('sma_cross');
  await form.locator('input[name=fast]').fill('10');
  await form.locator('input[name=slow]').fill('20');
  await page.getByTestId('backtest-start').click();

  await form.locator('select[name=strategy]').selectOption('rsi_reversion');
  await page.getByTestId('backtest-start').click();

  const runs = page.getByTestId('backtest-run');
  await expect(runs).toHaveCount(2);
  for (const run of await runs.all()) {
    await expect(run.getByTestId('backtest-progress')).toHaveAttribute('data-pct', '100');
    await expect(run.getByTestId('backtest-metrics')).toBeVisible();
    // The page shows what the server computed.
    const id = await run.getAttribute('data-backtest-id');
    const state = await (await request.get(`/api/backtests/${id}`)).json();
    await expect(run.getByTestId('backtest-trades-count')).toHaveText(String(state.state.data.metrics.trades));
    expect(state.state.data.metrics.trades).toBeGreaterThan(0);
    await expect(run.getByTestId('equity-chart')).not.toHaveAttribute('data-points', '0');
  }
  await page.screenshot({ path: testInfo.outputPath('backtests.png'), fullPage: true });

  // A bad field is refused with the server's message naming it.
  await form.locator('select[name=strategy]').selectOption('sma_cross');
  await form.locator('input[name=fast]').fill('30');
  await page.getByTestId('backtest-start').click();
  await expect(page.getByTestId('backtest-error')).toContainText('fast');
  await expect(runs).toHaveCount(2);
  expect(errors.filter((e) => !e.includes('422'))).toEqual([]);
});
