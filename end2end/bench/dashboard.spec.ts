import { test, expect } from '@playwright/test';

function stats(values: number[]) {
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { n: s.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: s[s.length - 1], min: s[0] };
}

test('navigation to first live data', async ({ page }) => {
  const loads = 9;
  const times: number[] = [];
  for (let i = 0; i < loads; i++) {
    await page.goto('/', { waitUntil: 'commit' });
    // performance.now() counts from the navigation's start.
    const t = await page.waitForFunction(
      () => {
        const el = document.querySelector('[data-testid=last-price]');
        return el && Number(el.getAttribute('data-seq')) > 0 && /\d/.test(el.textContent ?? '') ? performance.now() : null;
      },
      null,
      { polling: 'raf', timeout: 10_000 },
    );
    times.push(Number(await t.jsonValue()));
  }
  const s = stats(times);
  console.log(
    `navigation → first live data: median ${s.p50.toFixed(0)} ms, min ${s.min.toFixed(0)} ms, max ${s.max.toFixed(0)} ms over ${loads} loads`,
  );
});

/** Records animation-frame intervals and long tasks until `stopFrames`. */
async function startFrames(page: import('@playwright/test').Page) {
  await page.evaluate(() => {
    const w = window as unknown as { frames_: number[]; longTasks: number[]; recording: boolean };
    w.frames_ = [];
    w.longTasks = [];
    w.recording = true;
    new PerformanceObserver((list) => list.getEntries().forEach((e) => w.longTasks.push(e.duration))).observe({ entryTypes: ['longtask'] });
    let last = performance.now();
    const loop = (t: number) => {
      w.frames_.push(t - last);
      last = t;
      if (w.recording) requestAnimationFrame(loop);
    };
    requestAnimationFrame(loop);
  });
}

async function stopFrames(page: import('@playwright/test').Page, what: string) {
  const { frames, longTasks } = await page.evaluate(() => {
    const w = window as unknown as { frames_: number[]; longTasks: number[]; recording: boolean };
    w.recording = false;
    return { frames: w.frames_.slice(1), longTasks: w.longTasks };
  });
  const s = stats(frames);
  const fps = (frames.length / frames.reduce((a, b) => a + b, 0)) * 1000;
  const slow = frames.filter((f) => f > 20).length;
  console.log(
    `${what}: ${frames.length} frames, ${fps.toFixed(1)} fps; ` +
      `frame time p50 ${s.p50.toFixed(1)} ms, p95 ${s.p95.toFixed(1)} ms, p99 ${s.p99.toFixed(1)} ms, max ${s.max.toFixed(1)} ms; ` +
      `${slow} frames over 20 ms; ${longTasks.length} long tasks`,
  );
}

test('chart frame times with 5,000 candles in view and 50 messages/s', async ({ page, request }) => {
  const symbol = 'BENCH';
  const topic = `market:${symbol}`;
  const interval = 5_000;
  const t0 = Math.floor(Date.now() / interval) * interval - 5_000 * interval;
  let price = 100;
  const candle = (i: number, close: number, closed: boolean) => ({
    symbol, interval: '5s', open_time: new Date(t0 + i * interval).toISOString(),
    open: price, high: Math.max(price, close) + 0.05, low: Math.min(price, close) - 0.05, close, volume: 10, closed, source: 'external',
  });
  const publish = async (messages: object[]) => {
    const r = await request.post('/api/publish', { data: { messages } });
    expect(r.status(), await r.text()).toBe(200);
  };

  await page.goto(`/?symbol=${symbol}`);
  await expect(page.getByTestId('connection-status')).toHaveAttribute('data-state', 'connected');
  // A random walk of 5,000 closed candles (a producer's history), then the open one.
  const history = 5_000;
  for (let batch = 0; batch < history / 500; batch++) {
    const messages = [];
    for (let i = batch * 500; i < (batch + 1) * 500; i++) {
      const close = Math.max(1, price + (Math.random() - 0.5));
      messages.push({ topic, type: 'candle', data: candle(i, close, true) });
      price = close;
    }
    await publish(messages);
  }
  const chart = page.getByTestId('price-chart');
  await expect(chart).toHaveAttribute('data-candle-count', String(history));
  // Zoomed out until every candle is in view (a live view stays live).
  await chart.focus();
  while (Number(await chart.getAttribute('data-visible')) < history) await page.keyboard.press('-');

  await startFrames(page);
  // 50 messages/s for 10 s: ticks and the open candle changing with them, 5 every 100 ms.
  const seconds = 10;
  const open = history;
  const openPrice = price;
  let high = price;
  let low = price;
  const started = Date.now();
  for (let step = 0; step < seconds * 10; step++) {
    const messages = [];
    for (let k = 0; k < 5; k++) {
      price = Math.max(1, price + (Math.random() - 0.5) * 0.2);
      high = Math.max(high, price);
      low = Math.min(low, price);
      messages.push(
        k % 2 === 0
          ? { topic, type: 'tick', data: { symbol, price, change_pct: 0, volume: 1, source: 'external' } }
          : { topic, type: 'candle', data: { symbol, interval: '5s', open_time: new Date(t0 + open * interval).toISOString(), open: openPrice, high, low, close: price, volume: 10, closed: false, source: 'external' } },
      );
    }
    await publish(messages);
    const wait = started + (step + 1) * 100 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  await stopFrames(page, `chart, ${history} candles in view, 50 msg/s for ${seconds} s`);
  await expect(chart).toHaveAttribute('data-gaps', '0');
});

test("a run's chart with 5,000 bars and their markers, panned a frame at a time", async ({ page, request }) => {
  // 5,000 hourly bars that zigzag, so an SMA 1/2 cross trades at nearly every bar.
  const rows = ['date,open,high,low,close,volume'];
  for (let i = 0; i < 5_000; i++) {
    const c = i % 2 ? 101 + (i % 7) / 10 : 100 - (i % 5) / 10;
    rows.push(`${new Date(Date.UTC(2024, 0, 1) + i * 3600e3).toISOString().replace('.000Z', '+00:00')},${c},${c + 0.5},${c - 0.5},${c},10`);
  }
  const started = await request.post('/api/backtests', { data: { csv: rows.join('\n'), strategy: 'sma_cross', params: { fast: 1, slow: 2 } } });
  expect(started.status()).toBe(201);
  const { backtest_id: id } = await started.json();
  await expect.poll(async () => (await (await request.get(`/api/backtests/${id}`)).json()).state.data.status, { timeout: 60_000 }).toBe('complete');
  await page.goto('/backtests');
  const chart = page.locator(`[data-testid=backtest-run][data-backtest-id="${id}"]`).getByTestId('price-chart');
  await expect(chart).toHaveAttribute('data-visible', '5000', { timeout: 30_000 });
  const markers = `${await chart.getAttribute('data-markers')} markers (${await chart.getAttribute('data-marker-layer')})`;
  await chart.focus();
  await startFrames(page);
  // 120 pans, each a full repaint of the candles and the overlay.
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('ArrowRight');
  }
  await stopFrames(page, `run chart, 5,000 bars and ${markers}, 120 pans`);
  // Zoomed in to a few hundred bars, the markers in view are elements again.
  for (let i = 0; i < 16; i++) await page.keyboard.press('+');
  await expect(chart).toHaveAttribute('data-marker-layer', 'svg');
  await startFrames(page);
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('ArrowRight');
  }
  await stopFrames(page, `run chart zoomed to ${await chart.getAttribute('data-visible')} bars, ${await chart.getAttribute('data-markers')} markers as elements, 120 pans`);
});

test('leader tab takeover: the leader closes, the others stream again', async ({ browser }) => {
  const rounds = 5;
  const times: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const context = await browser.newContext();
    const pages = [];
    for (let i = 0; i < 3; i++) {
      const page = await context.newPage();
      await page.goto('/');
      await expect(page.getByTestId('connection-status')).toHaveAttribute('data-state', 'connected');
      pages.push(page);
    }
    const roles = await Promise.all(pages.map((p) => p.getByTestId('tab-role').getAttribute('data-role')));
    const leader = pages[roles.indexOf('leader')];
    const rest = pages.filter((p) => p !== leader);
    const seqs = await Promise.all(rest.map(async (p) => Number(await p.getByTestId('price-chart').getAttribute('data-last-seq'))));
    // From the leader's close to the first message after it in every other tab
    // (a message is due every 250 ms: `--tick-ms 250`).
    const closed = Date.now();
    await leader.close();
    await Promise.all(
      rest.map((p, i) =>
        p.waitForFunction(
          (seq) => Number(document.querySelector('[data-testid=price-chart]')?.getAttribute('data-last-seq')) > seq,
          seqs[i],
          { polling: 'raf', timeout: 10_000 },
        ),
      ),
    );
    times.push(Date.now() - closed);
    await context.close();
  }
  const s = stats(times);
  console.log(
    `leader tab closed → new data in both other tabs: median ${s.p50} ms, min ${s.min} ms, max ${s.max} ms over ${rounds} takeovers`,
  );
});

test('every control on every page has a name a screen reader can say', async ({ page, request }) => {
  // A run and a session, so their pages have their controls.
  const run = await request.post('/api/backtests', { data: { dataset: 'GOOG', strategy: 'rsi_reversion' } });
  const session = await request.post('/api/sessions', { data: { symbol: 'BTC-USD', strategy: 'external', cash: 1_000_000 } });
  expect(run.status() === 201 || run.status() === 422).toBe(true);
  const sessionId = (await session.json()).session_id;
  const report: string[] = [];
  // Each page once what the test waits for is there (its hydrated controls).
  const pages: [string, string][] = [
    ['/', 'timeframe-select'],
    ['/backtests', 'trades-filter'],
    ['/sessions', 'sessions-overview'],
    [`/sessions/${sessionId}`, 'force-exit'],
  ];
  for (const [path, ready] of pages) {
    await page.goto(path);
    await expect(page.getByTestId('connection-status')).toHaveAttribute('data-state', 'connected');
    await expect(page.getByTestId(ready).first()).toBeVisible();
    const { total, unnamed } = await page.evaluate(() => {
      const controls = Array.from(document.querySelectorAll('button, select, input, a[href], [tabindex]'));
      const named = (el: Element) => {
        const aria = el.getAttribute('aria-label') || el.getAttribute('title');
        const label = el.closest('label')?.textContent;
        const byFor = el.id ? document.querySelector(`label[for="${el.id}"]`)?.textContent : null;
        return Boolean((aria || label || byFor || el.textContent || '').trim());
      };
      const unnamed = controls.filter((el) => !named(el)).map((el) => el.outerHTML.slice(0, 80));
      return { total: controls.length, unnamed };
    });
    report.push(`${path}: ${total} controls, ${unnamed.length} without a name${unnamed.length ? ' — ' + unnamed.join(' | ') : ''}`);
  }
  console.log(`accessible names: ${report.join('; ')}`);
});
