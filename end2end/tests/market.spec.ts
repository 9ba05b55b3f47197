import { test, expect } from '@playwright/test';
import { collectErrors, expectDataAfter, lastSeq } from './helpers';

// How fast the first data arrives is a budget measured by scripts/bench/dashboard.sh
// (BENCHMARKS.md), not asserted here: a functional test waits for the condition.
test('live data after navigation, a green dot and a chart that keeps updating', async ({ page }, testInfo) => {
  const errors = collectErrors(page);
  await page.goto('/');
  const status = page.getByTestId('connection-status');
  const price = page.getByTestId('last-price');
  await expect(price).toHaveText(/^\d+\.\d{2}$/);
  await expect(status).toHaveAttribute('data-state', 'connected');

  const chart = page.getByTestId('price-chart');
  await expect(chart).not.toHaveAttribute('data-candle-count', '0');
  const first = await lastSeq(page);
  const firstPrice = (await price.textContent()) ?? '';
  await expectDataAfter(page, first);
  await expect(price).not.toHaveText(firstPrice);
  // The open candle is re-sent as it changes; a new one is appended when it closes.
  const candles = Number(await chart.getAttribute('data-candle-count'));
  await expect.poll(async () => Number(await chart.getAttribute('data-candle-count')), { timeout: 15_000 }).toBeGreaterThan(candles);
  await expect(chart).toHaveAttribute('data-gaps', '0');
  await expect(page.getByText('synthetic data')).toBeVisible();
  await expect(page.getByTestId('metrics-mode')).toHaveText('real-time');
  await expect(page.getByTestId('metrics-latency')).toHaveText(/^\d+ ms$/);
  await expect(page.getByTestId('metrics-rate')).toHaveText(/^[1-9]\d* msg\/s$/);
  await expect(page.getByTestId('metrics-last-update')).toHaveText(/^\d\d:\d\d:\d\d$/);

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
  await expect(page.getByTestId('price-chart')).toHaveAttribute('data-gaps', '0');
  expect(errors).toEqual([]);
});

test('the real-time toggle switches to polling, survives a reload and switches back', async ({ page }) => {
  const errors = collectErrors(page);
  await page.goto('/');
  const status = page.getByTestId('connection-status');
  const toggle = page.getByTestId('realtime-toggle');
  await expect(status).toHaveAttribute('data-state', 'connected');
  await expect(toggle).toBeChecked();

  await toggle.uncheck();
  await expect(status).toHaveAttribute('data-state', 'polling');
  await expect(page.getByTestId('metrics-mode')).toHaveText('polling');
  await expectDataAfter(page, await lastSeq(page));

  await page.reload();
  await expect(toggle).not.toBeChecked();
  await expect(status).toHaveAttribute('data-state', 'polling');
  await expect(page.getByTestId('last-price')).toHaveText(/^\d+\.\d{2}$/);
  await expectDataAfter(page, await lastSeq(page));

  await toggle.check();
  await expect(status).toHaveAttribute('data-state', 'connected');
  await expect(page.getByTestId('metrics-mode')).toHaveText('real-time');
  await expectDataAfter(page, await lastSeq(page));
  await expect(page.getByTestId('price-chart')).toHaveAttribute('data-gaps', '0');
  expect(errors).toEqual([]);
});

test('dropped sockets: yellow, then polling with a toast while data flows, then green again with no gap', async ({ page }, testInfo) => {
  test.setTimeout(120_000);
  const errors = collectErrors(page);
  let blocked = false;
  const open: { close: () => Promise<void> }[] = [];
  await page.routeWebSocket(/\/api\/ws$/, (ws) => {
    if (blocked) {
      // Accepted and dropped at once: the server's greeting never arrives.
      void ws.close();
      return;
    }
    ws.connectToServer();
    open.push(ws);
  });
  await page.goto('/');
  const status = page.getByTestId('connection-status');
  const chart = page.getByTestId('price-chart');
  await expect(status).toHaveAttribute('data-state', 'connected');
  await expectDataAfter(page, await lastSeq(page));

  blocked = true;
  for (const ws of open.splice(0)) await ws.close();
  await expect(status).toHaveAttribute('data-state', 'reconnecting');
  // Three failed attempts (1 s, 2 s, 4 s apart, ± jitter), then polling.
  await expect(status).toHaveAttribute('data-state', 'polling', { timeout: 20_000 });
  await expect(page.getByTestId('toast').filter({ hasText: 'polling' })).toBeVisible();
  await expect(page.getByTestId('metrics-mode')).toHaveText('polling');
  await expectDataAfter(page, await lastSeq(page));
  await page.screenshot({ path: testInfo.outputPath('polling.png'), fullPage: true });

  blocked = false;
  await expect(status).toHaveAttribute('data-state', 'connected', { timeout: 40_000 });
  await expect(page.getByTestId('toast').filter({ hasText: 'restored' })).toBeVisible();
  await expectDataAfter(page, await lastSeq(page));
  await expect(chart).toHaveAttribute('data-gaps', '0');
  expect(Number(await status.getAttribute('data-reconnects'))).toBeGreaterThanOrEqual(4);
  await expect(page.getByTestId('metrics-reconnects')).not.toHaveText('0');
  expect(errors).toEqual([]);
});

test('an anonymous server asks for no token: no sign-in panel, and no token frame on the socket', async ({ page }) => {
  const errors = collectErrors(page);
  const sent: string[] = [];
  page.on('websocket', (ws) => ws.on('framesent', (frame) => sent.push(String(frame.payload))));
  await page.goto('/');
  await expect(page.getByTestId('connection-status')).toHaveAttribute('data-state', 'connected');
  await expectDataAfter(page, await lastSeq(page));
  await expect(page.getByTestId('sign-in-panel')).toHaveCount(0);
  await expect(page.getByTestId('signed-in-as')).toHaveCount(0);
  expect(sent.some((f) => f.includes('"subscribe"'))).toBe(true);
  expect(sent.filter((f) => f.includes('"auth"'))).toEqual([]);
  expect(errors).toEqual([]);
});
