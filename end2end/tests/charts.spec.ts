import { test, expect, Locator, Page } from '@playwright/test';
import { collectErrors } from './helpers';

/** Starts a backtest by the API and opens the backtests page on it. */
async function openRun(page: Page, request: any, body: object): Promise<{ run: Locator; state: any; bars: any }> {
  const started = await request.post('/api/backtests', { data: body });
  expect(started.status()).toBe(201);
  const { backtest_id: id } = await started.json();
  await expect
    .poll(async () => (await (await request.get(`/api/backtests/${id}`)).json()).state.data.status)
    .toBe('complete');
  const state = (await (await request.get(`/api/backtests/${id}`)).json()).state.data;
  const bars = await (await request.get(`/api/backtests/${id}/bars`)).json();
  await page.goto('/backtests');
  const run = page.locator(`[data-testid=backtest-run][data-backtest-id="${id}"]`);
  await expect(run).toHaveAttribute('data-status', 'complete');
  return { run, state, bars };
}

test("a backtest's price chart puts every entry and exit on its bar, with the strategy's lines", async ({ page, request }, testInfo) => {
  const errors = collectErrors(page);
  const { run, state, bars } = await openRun(page, request, { dataset: 'GOOG', strategy: 'sma_cross', params: { fast: 10, slow: 30 } });
  const chart = run.getByTestId('price-chart');
  await expect(chart).toHaveAttribute('data-candle-count', String(bars.total));

  // One marker per fill, at the fill's price and time, on a bar whose range holds it.
  const markers = chart.getByTestId('trade-marker');
  await expect(markers).toHaveCount(state.trades.length);
  expect(state.trades.length).toBeGreaterThan(4);
  const drawn = await markers.evaluateAll((els) =>
    els.map((e) => ['data-trade', 'data-action', 'data-side', 'data-time', 'data-price', 'aria-label'].map((a) => e.getAttribute(a))),
  );
  const byKey = new Map(drawn.map(([id, action, ...rest]) => [`${id} ${action}`, rest]));
  const links = new Set(await chart.locator('.trade-link').evaluateAll((els) => els.map((e) => e.getAttribute('data-trade'))));
  const byTime = new Map<string, any>(bars.bars.map((b: any) => [b.time, b]));
  for (const trade of state.trades) {
    // An entry and its exit share the trade's id.
    const [side, time, price, label] = byKey.get(`${trade.id} ${trade.action}`)!;
    expect([side, time, Number(price)]).toEqual([trade.side, trade.time, trade.price]);
    const bar = byTime.get(trade.time);
    expect(trade.price).toBeGreaterThanOrEqual(bar.low);
    expect(trade.price).toBeLessThanOrEqual(bar.high);
    if (trade.action === 'exit') {
      // Linked to its entry, its P&L on hover (the marker's title and label).
      expect(links.has(String(trade.id))).toBe(true);
      expect(label).toMatch(/P&L [+-]\d/);
    }
  }
  const lines = chart.getByTestId('indicator-line');
  await expect(lines).toHaveCount(2);
  await expect(chart.locator('[data-testid=indicator-line][data-name=sma_fast]')).toHaveCount(1);
  await expect(chart.locator('[data-testid=indicator-line][data-name=sma_slow]')).toHaveCount(1);
  // The equity chart is read against buy and hold.
  await expect(run.getByTestId('buy-and-hold')).toContainText('Buy and hold');
  await page.screenshot({ path: testInfo.outputPath('backtest-chart.png'), fullPage: true });

  // An RSI strategy draws its RSI in a pane of its own, with its thresholds.
  const rsi = await openRun(page, request, { dataset: 'GOOG', strategy: 'rsi_reversion', params: { period: 10, lower: 35, upper: 65 } });
  const rsiChart = rsi.run.getByTestId('price-chart');
  await expect(rsiChart.locator('[data-testid=indicator-line][data-name=rsi]')).toHaveCount(1);
  await expect(rsiChart.getByTestId('rsi-threshold')).toHaveCount(2);
  await expect(rsiChart.locator('[data-testid=rsi-threshold][data-value="35"]')).toHaveCount(1);
  await expect(rsiChart.getByTestId('trade-marker')).toHaveCount(rsi.state.trades.length);
  expect(errors).toEqual([]);
});

test('the readout follows the pointer; wheel, drag and keys zoom and pan; back to live', async ({ page, request }) => {
  const errors = collectErrors(page);
  const { run, bars } = await openRun(page, request, { dataset: 'GOOG', strategy: 'buy_and_hold' });
  const chart = run.getByTestId('price-chart');
  const area = chart.locator('.chart-area');
  await area.scrollIntoViewIfNeeded();
  const box = (await area.boundingBox())!;
  const readout = chart.getByTestId('crosshair-readout');
  const times = new Set<string>(bars.bars.map((b: any) => b.time));

  await page.mouse.move(box.x + box.width * 0.2, box.y + box.height / 2);
  await expect(readout).toHaveAttribute('data-hovering', 'true');
  const left = (await readout.getAttribute('data-time'))!;
  expect(times.has(left)).toBe(true);
  await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2);
  await expect(readout).not.toHaveAttribute('data-time', left);
  const right = (await readout.getAttribute('data-time'))!;
  expect(times.has(right) && right > left).toBe(true);

  // A fitted chart shows every bar; the wheel zooms in.
  await expect(chart).toHaveAttribute('data-visible', String(bars.total));
  await page.mouse.wheel(0, -400);
  await expect.poll(async () => Number(await chart.getAttribute('data-visible'))).toBeLessThan(bars.total);
  const zoomed = Number(await chart.getAttribute('data-visible'));
  // Dragging right moves into the past: no longer live, and a way back.
  await expect(chart).toHaveAttribute('data-live', 'true');
  await page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.7, box.y + box.height / 2, { steps: 5 });
  await page.mouse.up();
  await expect(chart).toHaveAttribute('data-live', 'false');
  await chart.getByTestId('chart-live').click();
  await expect(chart).toHaveAttribute('data-live', 'true');
  // The same from the keyboard.
  await chart.focus();
  await page.keyboard.press('-');
  await expect.poll(async () => Number(await chart.getAttribute('data-visible'))).toBeGreaterThan(zoomed);
  await page.keyboard.press('ArrowLeft');
  await expect(chart).toHaveAttribute('data-live', 'false');
  await page.keyboard.press('End');
  await expect(chart).toHaveAttribute('data-live', 'true');
  expect(errors).toEqual([]);
});

test("the market chart draws the analysis lines, and a timeframe per viewer from the base candles", async ({ page }) => {
  const errors = collectErrors(page);
  await page.goto('/');
  const chart = page.getByTestId('price-chart');
  await expect(chart.locator('[data-testid=indicator-line][data-name=sma_20]')).toHaveCount(1);
  await expect(chart.locator('[data-testid=indicator-line][data-name=ema_12]')).toHaveCount(1);
  await expect.poll(async () => Number(await chart.getAttribute('data-candle-count'))).toBeGreaterThan(100);
  const base = Number(await chart.getAttribute('data-candle-count'));
  // The server's candles are 5 s: a minute holds twelve.
  const select = chart.getByTestId('timeframe-select');
  await expect(select.locator('option')).toHaveCount(7);
  await select.selectOption('1m');
  await expect.poll(async () => Number(await chart.getAttribute('data-candle-count'))).toBeLessThanOrEqual(Math.ceil(base / 12) + 2);
  expect(Number(await chart.getAttribute('data-candle-count'))).toBeGreaterThan(0);
  await select.selectOption('');
  await expect.poll(async () => Number(await chart.getAttribute('data-candle-count'))).toBeGreaterThanOrEqual(base);

  // Two timeframes of the symbol side by side, from the one subscription.
  await page.getByTestId('chart-split').check();
  const second = page.getByTestId('price-chart-split');
  await expect.poll(async () => Number(await second.getAttribute('data-candle-count'))).toBeGreaterThanOrEqual(base);
  await second.getByTestId('timeframe-select').selectOption('5m');
  await expect.poll(async () => Number(await second.getAttribute('data-candle-count'))).toBeLessThanOrEqual(Math.ceil(base / 60) + 2);
  expect(Number(await chart.getAttribute('data-candle-count'))).toBeGreaterThanOrEqual(base);
  await expect(second.locator('[data-testid=indicator-line][data-name=sma_20]')).toHaveCount(1);
  expect(errors).toEqual([]);
});

test('the trades table sorts, filters, pages through thousands of fills and exports what it shows', async ({ page, request }) => {
  const errors = collectErrors(page);
  // 4,000 hourly bars that zigzag: an SMA 1/2 cross flips at nearly every bar.
  const rows = ['date,open,high,low,close,volume'];
  const t0 = Date.UTC(2024, 0, 1);
  for (let i = 0; i < 4000; i++) {
    const c = i % 2 ? 101 + (i % 7) / 10 : 100 - (i % 5) / 10;
    const time = new Date(t0 + i * 3600e3).toISOString().replace('.000Z', '+00:00');
    rows.push(`${time},${c},${c + 0.5},${c - 0.5},${c},10`);
  }
  const { run, state } = await openRun(page, request, { csv: rows.join('\n'), strategy: 'sma_cross', params: { fast: 1, slow: 2 } });
  const trades: any[] = state.trades;
  // More fills than a run's state holds (up to 5,000, trimmed a tenth at a time): the
  // table has the most recent, thousands of them.
  expect(state.metrics.trades * 2).toBeGreaterThan(trades.length);
  expect(trades.length).toBeGreaterThan(4500);
  const table = run.getByTestId('trades-table');
  const pager = run.getByTestId('trades-pager');
  await expect(table).toHaveAttribute('data-rows', String(trades.length));
  await expect(table.locator('tbody tr')).toHaveCount(50);
  await expect(pager).toHaveAttribute('data-pages', String(Math.ceil(trades.length / 50)));
  await run.getByTestId('trades-next').click();
  await expect(pager).toHaveAttribute('data-page', '2');
  await expect(table.locator('tbody tr').first()).toHaveAttribute('data-trade', String(trades[trades.length - 51].id));

  // Sorted by P&L, the worst loss first.
  await table.locator('button[data-sort=pnl]').click();
  const worst = trades.filter((t) => t.pnl !== undefined).reduce((a, b) => (b.pnl < a.pnl ? b : a));
  await expect(table.locator('tbody tr').first()).toHaveAttribute('data-trade', String(worst.id));
  await expect(table.locator('th[aria-sort=ascending] button')).toHaveAttribute('data-sort', 'pnl');

  // Filtered: shorts only, then winning round trips only, then one day.
  const filter = run.getByTestId('trades-filter');
  await filter.locator('select[name=side]').selectOption('short');
  const shorts = trades.filter((t) => t.side === 'short').length;
  await expect(table).toHaveAttribute('data-rows', String(shorts));
  await expect(run.getByTestId('backtest-trades-summary')).toHaveText(`Trades (${shorts} of ${trades.length})`);
  for (const side of await table.locator('tbody tr td:nth-child(3)').allTextContents()) expect(side).toBe('short');
  await filter.locator('select[name=side]').selectOption('');
  await filter.locator('select[name=outcome]').selectOption('win');
  await expect.poll(async () => Number(await table.getAttribute('data-rows'))).toBeLessThan(trades.length);
  for (const pnl of await table.locator('tbody tr td:nth-child(7)').allTextContents()) expect(pnl).not.toContain('-');
  await filter.locator('select[name=outcome]').selectOption('');
  const day = trades[trades.length - 1].time.slice(0, 10);
  await filter.locator('input[name=from]').fill(day);
  await filter.locator('input[name=to]').fill(day);
  const thatDay = trades.filter((t) => t.time.startsWith(day)).length;
  await expect(table).toHaveAttribute('data-rows', String(thatDay));

  // Exported as shown: a header and one line per row.
  const [download] = await Promise.all([page.waitForEvent('download'), run.getByTestId('trades-export').click()]);
  const text = require('node:fs').readFileSync(await download.path(), 'utf8').trim().split('\n');
  expect(text[0]).toBe('id,time,side,action,price,size,pnl,return_pct,reason');
  expect(text.length).toBe(thatDay + 1);
  expect(text.slice(1).every((line: string) => line.split(',')[1].startsWith(day))).toBe(true);
  expect(errors).toEqual([]);
});
