import { test, expect } from '@playwright/test';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { collectErrors } from './helpers';

// A new user's first minute (issue 15): every wait is a condition with a deadline.

test('the market page opens on a full chart with an analysis value', async ({ page }) => {
  const errors = collectErrors(page);
  await page.goto('/');
  const chart = page.getByTestId('price-chart');
  // The feed's past comes with the first snapshot: no waiting for candles to close.
  await expect.poll(async () => Number(await chart.getAttribute('data-candle-count'))).toBeGreaterThanOrEqual(299);
  await expect(page.getByTestId('analysis-values').locator('[data-indicator=rsi_14]')).toHaveText(/^\d+\.\d$/);
  await expect(chart).toHaveAttribute('data-gaps', '0');
  expect(errors).toEqual([]);
});

test('a shipped dataset and an uploaded CSV both run from the form to their metrics', async ({ page, request }) => {
  const errors = collectErrors(page);
  // The ten most recent runs of earlier tests open too; the newest comes first, and runs
  // started here are added above them.
  const before = (await (await request.get('/api/backtests')).json()).length;
  await page.goto('/backtests');
  const form = page.locator('form.backtest-form');
  const runs = page.getByTestId('backtest-run');
  const shown = Math.min(before, 10);
  await expect(runs).toHaveCount(shown);
  const datasets = await form.locator('select[name=dataset] option').allTextContents();
  expect(datasets).toEqual(expect.arrayContaining(['BTCUSD', 'EURUSD', 'GOOG']));
  await form.locator('select[name=dataset]').selectOption('EURUSD');
  await form.locator('select[name=strategy]').selectOption('buy_and_hold');
  // The newest run the server lists, once it lists `n`.
  const newest = async (n: number) => {
    await expect.poll(() => request.get('/api/backtests').then((r) => r.json()).then((l) => l.length)).toBe(n);
    return (await (await request.get('/api/backtests')).json())[0].backtest_id;
  };
  await page.getByTestId('backtest-start').click();
  await expect(runs.first()).toHaveAttribute('data-backtest-id', await newest(before + 1));
  await expect(runs).toHaveCount(shown + 1);
  await expect(runs.first()).toHaveAttribute('data-status', 'complete');
  await expect(runs.first()).toContainText('EURUSD');

  // The same form runs a file from the user's disk: GOOG's bars under another name.
  const csv = readFileSync(path.join(__dirname, '..', '..', 'data', 'GOOG.csv'));
  await page.getByTestId('backtest-upload').setInputFiles({ name: 'my-goog.csv', mimeType: 'text/csv', buffer: csv });
  await expect(page.getByTestId('backtest-upload-name')).toContainText('my-goog.csv');
  await form.locator('select[name=strategy]').selectOption('sma_cross');
  await page.getByTestId('backtest-start').click();
  await expect(runs.first()).toHaveAttribute('data-backtest-id', await newest(before + 2));
  await expect(runs).toHaveCount(shown + 2);
  const uploaded = runs.first();
  await expect(uploaded).toContainText('my-goog');
  await expect(uploaded).toHaveAttribute('data-status', 'complete');
  await expect(uploaded.getByTestId('backtest-metrics')).toBeVisible();
  const id = await uploaded.getAttribute('data-backtest-id');
  const state = await (await request.get(`/api/backtests/${id}`)).json();
  expect(state.state.data.started.total_bars).toBe(2148);
  expect(state.state.data.metrics.trades).toBeGreaterThan(0);

  // A file that is not price data is refused, naming the upload.
  await page.getByTestId('backtest-upload').setInputFiles({ name: 'notes.csv', mimeType: 'text/csv', buffer: Buffer.from('hello,world\n1,2\n') });
  await page.getByTestId('backtest-start').click();
  await expect(page.getByTestId('backtest-error')).toContainText('csv');
  await expect(runs).toHaveCount(shown + 2);
  expect(errors.filter((e) => !e.includes('422'))).toEqual([]);
});

test('a session given to an outside agent trades on the decision the agent posts', async ({ page, request }) => {
  const errors = collectErrors(page);
  await page.goto('/sessions');
  const form = page.locator('form.session-form');
  await expect(form.locator('select[name=symbol] option')).not.toHaveCount(0);
  await form.locator('select[name=symbol]').selectOption('GOOG');
  await form.locator('select[name=strategy]').selectOption('external');
  await page.getByTestId('session-start').click();
  await expect(page).toHaveURL(/\/sessions\/s-/);
  const id = page.url().split('/').pop();

  // The agent decides once a bar has closed (409 until then), as any outside program would.
  await expect
    .poll(async () => (await request.post(`/api/sessions/${id}/thinking`, { data: { chunk: 'GOOG looks strong.' } })).status(), {
      timeout: 20_000,
    })
    .toBe(202);
  const decision = await request.post(`/api/sessions/${id}/decision`, {
    data: { action: 'buy', reasoning: 'GOOG looks strong: buy.', confidence: 0.75 },
  });
  expect(decision.status()).toBe(202);

  await expect(page.getByTestId('session-positions').locator('tbody tr')).toHaveCount(1, { timeout: 20_000 });
  await expect(page.getByTestId('session-decisions')).toContainText('GOOG looks strong: buy. (confidence 0.75)');
  await expect(page.getByTestId('session-decisions')).toContainText('BUY');
  expect((await request.delete(`/api/sessions/${id}`)).status()).toBe(200);
  expect(errors).toEqual([]);
});
