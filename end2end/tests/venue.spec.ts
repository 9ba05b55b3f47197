import { expect, test } from '@playwright/test';
import { collectErrors, expectDataAfter, lastSeq } from './helpers';

// The venue project's server runs `--feed binance:BTCUSDT` against fake-venue.mjs, a
// fake Binance speaking its documented frames (playwright.config.ts).
const fakeVenue = `http://127.0.0.1:${Number(process.env.TICKWIRE_E2E_PORT ?? 3100) + 3}`;

test("a venue's prices show on the market page with its badge, and its silence turns the dot stale", async ({
  page,
  request,
}) => {
  test.setTimeout(90_000);
  const errors = collectErrors(page);
  await request.post(`${fakeVenue}/control/resume`);
  await page.goto('/');
  const badge = page.getByTestId('feed-badge');
  await expect(badge).toHaveAttribute('data-source', 'binance');
  await expect(badge).toHaveText('live · Binance');
  await expect(page.getByTestId('symbol-picker').locator('option')).toHaveCount(1);
  // The chart starts with the venue's own candles, and the venue's prints move it.
  const chart = page.getByTestId('price-chart');
  await expect.poll(async () => Number(await chart.getAttribute('data-candle-count'))).toBeGreaterThan(100);
  await expect(page.getByTestId('last-price')).toHaveText(/^640\d\d\.\d{2}$/);
  await expectDataAfter(page, await lastSeq(page));
  const status = page.getByTestId('connection-status');
  await expect(status).toHaveAttribute('data-state', 'connected');

  // The venue goes silent: the socket to tickwire is fine, the stream is stale (a
  // venue topic after 4 × 5 s without a print).
  await request.post(`${fakeVenue}/control/silence`);
  await expect(status).toHaveAttribute('data-state', 'stale', { timeout: 40_000 });
  await expect(status).toHaveAttribute('title', /Stale: market:BTCUSDT silent for \d+ s/);
  await request.post(`${fakeVenue}/control/resume`);
  await expect(status).toHaveAttribute('data-state', 'connected', { timeout: 40_000 });
  await expect(chart).toHaveAttribute('data-gaps', '0');
  expect(errors).toEqual([]);
});
