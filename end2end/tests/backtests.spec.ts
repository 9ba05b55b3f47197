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

test("a run's Resume and Cancel buttons control it on the server", async ({ page, request }) => {
  const errors = collectErrors(page);
  const suffix = Date.now().toString(36);
  const ids = { resumed: `ui-resume-${suffix}`, cancelled: `ui-cancel-${suffix}` };
  // Started paused (a run on this data ends in milliseconds otherwise): each waits at its
  // first bar for a client.
  for (const id of Object.values(ids)) {
    const started = await request.post('/api/backtests', {
      data: { id, dataset: 'EURUSD', strategy: 'sma_cross', paused: true },
    });
    expect(started.status()).toBe(201);
  }
  await page.goto('/backtests');
  const resumed = page.locator(`[data-testid=backtest-run][data-backtest-id="${ids.resumed}"]`);
  const cancelled = page.locator(`[data-testid=backtest-run][data-backtest-id="${ids.cancelled}"]`);
  await expect(resumed).toHaveAttribute('data-status', 'paused');
  await expect(cancelled).toHaveAttribute('data-status', 'paused');

  await resumed.getByTestId('backtest-resume').click();
  await expect(resumed.getByTestId('control-state')).toHaveAttribute('data-state', 'done');
  await expect(resumed).toHaveAttribute('data-status', 'complete');
  await expect(resumed.getByTestId('backtest-progress')).toHaveAttribute('data-pct', '100');
  await expect(resumed.getByTestId('backtest-cancel')).toHaveCount(0);

  await cancelled.getByTestId('backtest-cancel').click();
  await expect(cancelled).toHaveAttribute('data-status', 'cancelled');
  const state = await (await request.get(`/api/backtests/${ids.cancelled}`)).json();
  expect(state.state.data.status).toBe('cancelled');
  expect(state.state.data.progress.bars_processed).toBe(1);
  await expect(cancelled.getByTestId('backtest-resume')).toHaveCount(0);
  expect(errors).toEqual([]);
});

test("a control says it is on its way, then refused with the server's reason", async ({ page, request }) => {
  const errors = collectErrors(page);
  const id = `ui-refused-${Date.now().toString(36)}`;
  const started = await request.post('/api/backtests', {
    data: { id, dataset: 'EURUSD', strategy: 'sma_cross', paused: true },
  });
  expect(started.status()).toBe(201);
  // The server away for this one request: held, then answered 503.
  let release = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  await page.route(`**/api/backtests/${id}/resume`, async (route) => {
    await held;
    await route.fulfill({ status: 503, contentType: 'application/json', body: '{"error":"redis unavailable"}' });
  });
  await page.goto('/backtests');
  const run = page.locator(`[data-testid=backtest-run][data-backtest-id="${id}"]`);
  await expect(run).toHaveAttribute('data-status', 'paused');
  await run.getByTestId('backtest-resume').click();
  const asked = run.getByTestId('control-state');
  await expect(asked).toHaveAttribute('data-state', 'pending');
  await expect(run.getByTestId('backtest-cancel')).toBeDisabled();
  release();
  await expect(asked).toHaveAttribute('data-state', 'refused');
  await expect(asked).toContainText('Resume refused: redis unavailable');
  await expect(run).toHaveAttribute('data-status', 'paused');
  // The server itself takes the next one.
  await run.getByTestId('backtest-cancel').click();
  await expect(asked).toHaveAttribute('data-state', 'done');
  await expect(run).toHaveAttribute('data-status', 'cancelled');
  expect(errors.filter((e) => !e.includes('503'))).toEqual([]);
});

test('closed trades by period, and a daily series dated without times', async ({ page, request }) => {
  const errors = collectErrors(page);
  const id = `ui-periods-${Date.now().toString(36)}`;
  const started = await request.post('/api/backtests', {
    data: { id, dataset: 'GOOG', strategy: 'sma_cross', params: { fast: 10, slow: 20 } },
  });
  expect(started.status()).toBe(201);
  await expect
    .poll(async () => (await (await request.get(`/api/backtests/${id}`)).json()).status)
    .toBe('complete');
  const trades: { time: string; pnl?: number }[] = (await (await request.get(`/api/backtests/${id}`)).json()).state
    .data.trades;
  const exits = trades.filter((t) => typeof t.pnl === 'number');
  const years = new Set(exits.map((t) => t.time.slice(0, 4)));
  expect(exits.length).toBeGreaterThan(0);

  await page.goto('/backtests');
  const run = page.locator(`[data-testid=backtest-run][data-backtest-id="${id}"]`);
  await expect(run).toHaveAttribute('data-status', 'complete');
  const periods = run.getByTestId('period-breakdown');
  await periods.locator('summary').click();
  await periods.getByTestId('period-select').selectOption('year');
  await expect(periods.locator('tbody tr')).toHaveCount(years.size);
  const counts = await periods.locator('tbody tr td:nth-child(2)').allTextContents();
  expect(counts.map(Number).reduce((a, b) => a + b, 0)).toBe(exits.length);
  // GOOG is daily: its trades are dated, without a time of day.
  await expect(run.locator('.run-trades tbody tr td:nth-child(2)').first()).toHaveText(/^\d{4}-\d{2}-\d{2}$/);
  expect(errors).toEqual([]);
});

test('a paced run shows its speed and a time left that shrinks to the end', async ({ page, request }) => {
  const errors = collectErrors(page);
  const id = `ui-eta-${Date.now().toString(36)}`;
  // 2,148 bars at 400 bars/s: about five seconds to watch.
  const started = await request.post('/api/backtests', {
    data: { id, dataset: 'GOOG', strategy: 'sma_cross', pace: 400, progress_every_ms: 100 },
  });
  expect(started.status()).toBe(201);
  await page.goto('/backtests');
  const run = page.locator(`[data-testid=backtest-run][data-backtest-id="${id}"]`);
  const eta = run.getByTestId('backtest-eta');
  const etaMs = async () => Number((await eta.getAttribute('data-eta-ms')) || NaN);
  await expect.poll(etaMs).toBeGreaterThan(0);
  const first = await etaMs();
  await expect(eta).toHaveText(/^\d+ s left$/);
  await expect(run.getByTestId('backtest-throughput')).toHaveText(/^\d+ bars\/s$/);
  const speed = Number((await run.getByTestId('backtest-throughput').textContent())?.split(' ')[0]);
  expect(speed).toBeLessThanOrEqual(404);
  await expect.poll(etaMs).toBeLessThan(first - 1000);
  await expect(run).toHaveAttribute('data-status', 'complete');
  await expect(eta).toHaveText('ended');
  expect(errors).toEqual([]);
});

test('a finished run replays to the same final metrics, from its record and from an exported NDJSON file', async ({
  page,
  request,
}, testInfo) => {
  const errors = collectErrors(page);
  const id = `replay-${Date.now().toString(36)}`;
  // Paced, so the live run and its record span a second and a half.
  const started = await request.post('/api/backtests', {
    data: { id, dataset: 'GOOG', strategy: 'sma_cross', params: { fast: 10, slow: 20 }, pace: 1500, progress_every_ms: 100 },
  });
  expect(started.status()).toBe(201);
  await page.goto('/backtests');
  const run = page.locator(`[data-testid=backtest-run][data-backtest-id="${id}"]`);
  await expect(run).toHaveAttribute('data-status', 'complete');
  const live = (await run.getByTestId('backtest-metrics').first().textContent()) ?? '';
  expect(live).toContain('Final equity');

  // From the run's record, at 100×: the same components end on the same figures.
  await run.getByTestId('replay-open').click();
  const replay = run.getByTestId('replay');
  await expect(replay).toContainText(`Replay of backtest:${id}`);
  const position = replay.getByTestId('replay-position');
  const length = Number(await position.getAttribute('data-length'));
  expect(length).toBeGreaterThan(20);
  await expect(position).toHaveAttribute('data-position', '0');
  await replay.getByTestId('replay-speed').selectOption('100');
  await replay.getByTestId('replay-play').click();
  await expect(position).toHaveAttribute('data-position', String(length));
  await expect(replay.getByTestId('backtest-metrics')).toHaveText(live);
  await expect(replay.getByTestId('backtest-progress')).toHaveAttribute('data-pct', '100');

  // The scrubber goes back to the start: no metrics yet, nothing traded.
  await replay.getByTestId('replay-scrubber').fill('0');
  await expect(position).toHaveAttribute('data-position', '0');
  await expect(replay.getByTestId('backtest-metrics')).toHaveCount(0);

  // Exported, then imported: a replay of the file ends the same way.
  const [download] = await Promise.all([page.waitForEvent('download'), replay.getByTestId('replay-export').click()]);
  expect(download.suggestedFilename()).toBe(`backtest-${id}.ndjson`);
  const file = testInfo.outputPath('record.ndjson');
  await download.saveAs(file);
  await page.getByTestId('replay-import').setInputFiles(file);
  const imported = page.locator('.runs > [data-testid=replay]');
  await expect(imported).toContainText(`Replay of backtest:${id} (record.ndjson)`);
  await imported.getByTestId('replay-speed').selectOption('100');
  await imported.getByTestId('replay-play').click();
  await expect(imported.getByTestId('replay-position')).toHaveAttribute('data-position', String(length));
  await expect(imported.getByTestId('backtest-metrics')).toHaveText(live);

  // A file that is not a record is refused, naming the file and the line.
  await page.getByTestId('replay-import').setInputFiles({
    name: 'notes.ndjson',
    mimeType: 'application/x-ndjson',
    buffer: Buffer.from('{"type":"tick"}\n'),
  });
  await expect(page.locator('form [data-testid=replay-error]')).toContainText('notes.ndjson: line 1 is not an envelope');
  await expect(page.locator('.runs > [data-testid=replay]')).toHaveCount(1);
  expect(errors).toEqual([]);
});
