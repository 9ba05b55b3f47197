import { expect, Page, test, WebSocketRoute } from '@playwright/test';
import { collectErrors, collectSubscribes, expectDataAfter, lastSeq, setHidden } from './helpers';

/** A published market message (control frames carry no seq). */
function isMarketMessage(text: string): boolean {
  try {
    const frame = JSON.parse(text);
    return typeof frame.seq === 'number' && String(frame.topic).startsWith('market:');
  } catch {
    return false;
  }
}

/** Counts the market messages the page's sockets receive, from now on. */
function countMarketFrames(page: Page): { count: number } {
  const counter = { count: 0 };
  page.on('websocket', (ws) =>
    ws.on('framereceived', (f) => {
      if (typeof f.payload === 'string' && isMarketMessage(f.payload)) counter.count += 1;
    }),
  );
  return counter;
}

/** Starts counting every DOM change under `<body>`; `domChanges` reads the count. */
async function watchDom(page: Page) {
  await page.evaluate(() => {
    const w = window as unknown as { domChanges: number };
    w.domChanges = 0;
    new MutationObserver((records) => (w.domChanges += records.length)).observe(document.body, {
      subtree: true,
      childList: true,
      attributes: true,
      characterData: true,
    });
  });
}

const domChanges = (page: Page) => page.evaluate(() => (window as unknown as { domChanges: number }).domChanges);

test('a feed that stalls on a live socket turns the dot yellow and stale, and back when it moves', async ({ page }) => {
  const errors = collectErrors(page);
  // The proxy holds the market's messages back while `holding`; pongs and heartbeats
  // pass, so the socket itself stays healthy.
  let holding = false;
  const held: string[] = [];
  let toPage: WebSocketRoute | undefined;
  await page.routeWebSocket(/\/api\/ws$/, (ws) => {
    toPage = ws;
    const server = ws.connectToServer();
    server.onMessage((message) => {
      const text = message.toString();
      if (holding && isMarketMessage(text)) held.push(text);
      else ws.send(text);
    });
  });
  await page.goto('/');
  const status = page.getByTestId('connection-status');
  const age = page.getByTestId('stream-age');
  await expect(status).toHaveAttribute('data-state', 'connected');
  await expectDataAfter(page, await lastSeq(page));
  await expect(age).toHaveText(/^last message \d+ s ago$/);
  await expect(age).toHaveAttribute('data-stale', 'false');

  holding = true;
  // The e2e server ticks every 250 ms, so its market threshold is the 3 s floor.
  await expect(status).toHaveAttribute('data-state', 'stale');
  await expect(status.locator('.dot')).toHaveClass(/dot-yellow/);
  await expect(status).toHaveAttribute('title', /Stale: market:\S+ silent for \d+ s/);
  await expect(age).toHaveAttribute('data-stale', 'true');
  await expect(age).toHaveText(/^last message ([3-9]|\d{2,}) s ago$/);

  // The feed moves again: everything held arrives, in order, and the dot is green.
  const before = await lastSeq(page);
  holding = false;
  for (const text of held.splice(0)) toPage?.send(text);
  await expect(status).toHaveAttribute('data-state', 'connected');
  await expect(age).toHaveAttribute('data-stale', 'false');
  await expectDataAfter(page, before);
  await expect(page.getByTestId('price-chart')).toHaveAttribute('data-gaps', '0');
  expect(errors).toEqual([]);
});

test('a hidden tab does no DOM work while messages arrive, and shows them all on return', async ({ page }) => {
  const errors = collectErrors(page);
  const frames = countMarketFrames(page);
  await page.goto('/');
  await expect(page.getByTestId('connection-status')).toHaveAttribute('data-state', 'connected');
  await expectDataAfter(page, await lastSeq(page));

  await setHidden(page, true);
  await watchDom(page);
  const seqWhenHidden = await lastSeq(page);
  const framesWhenHidden = frames.count;
  await expect.poll(() => frames.count - framesWhenHidden).toBeGreaterThanOrEqual(10);
  expect(await domChanges(page)).toBe(0);
  expect(await lastSeq(page)).toBe(seqWhenHidden);

  await setHidden(page, false);
  await expect.poll(() => lastSeq(page)).toBeGreaterThanOrEqual(seqWhenHidden + 10);
  expect(await domChanges(page)).toBeGreaterThan(0);
  await expect(page.getByTestId('price-chart')).toHaveAttribute('data-gaps', '0');
  expect(errors).toEqual([]);
});

test('a hidden tab that fell too far behind catches up from a snapshot on return', async ({ page }) => {
  const errors = collectErrors(page);
  const frames = countMarketFrames(page);
  const subscribes = collectSubscribes(page);
  // A backlog of 20 messages instead of 1,000, so the test need not wait minutes, and
  // the hidden page's rate left at the visible one's, so it falls behind in seconds.
  await page.goto('/?hidden_backlog=20&hidden_rate=10');
  await expect(page.getByTestId('connection-status')).toHaveAttribute('data-state', 'connected');
  await expectDataAfter(page, await lastSeq(page));
  const topic = await page.getByTestId('stream-age').getAttribute('data-topic');
  expect(topic).toMatch(/^market:/);

  await setHidden(page, true);
  const framesWhenHidden = frames.count;
  await expect.poll(() => frames.count - framesWhenHidden).toBeGreaterThan(25);
  const subscribesWhenHidden = subscribes.length;

  await setHidden(page, false);
  // One fresh subscribe without a resume point: the server answers with a snapshot.
  await expect
    .poll(() => subscribes.slice(subscribesWhenHidden))
    .toEqual([{ action: 'subscribe', topic, max_rate: 10 }]);
  const seqAfterSnapshot = await lastSeq(page);
  await expectDataAfter(page, seqAfterSnapshot);
  await expect(page.getByTestId('price-chart')).toHaveAttribute('data-gaps', '0');
  expect(errors).toEqual([]);
});

test('a hidden tab asks the server for one message a second, which it conflates, and for ten again on return', async ({
  page,
}) => {
  const errors = collectErrors(page);
  const subscribes = collectSubscribes(page);
  const conflated: number[] = [];
  page.on('websocket', (ws) =>
    ws.on('framereceived', (f) => {
      if (typeof f.payload !== 'string' || !isMarketMessage(f.payload)) return;
      const frame = JSON.parse(f.payload);
      if (frame.conflated) conflated.push(frame.conflated);
    }),
  );
  await page.goto('/');
  await expect(page.getByTestId('connection-status')).toHaveAttribute('data-state', 'connected');
  const topic = await page.getByTestId('stream-age').getAttribute('data-topic');
  // The market page asks ten a second of the symbol it charts.
  await expect.poll(() => subscribes).toEqual([{ action: 'subscribe', topic, max_rate: 10 }]);
  await expectDataAfter(page, await lastSeq(page));

  await setHidden(page, true);
  await expect.poll(() => subscribes.slice(1)).toEqual([{ action: 'subscribe', topic, max_rate: 1 }]);
  // The feed ticks four times a second: the server now leaves ticks out, and says so.
  await expect.poll(() => conflated.length).toBeGreaterThanOrEqual(3);

  await setHidden(page, false);
  await expect.poll(() => subscribes.slice(2)).toEqual([{ action: 'subscribe', topic, max_rate: 10 }]);
  await expectDataAfter(page, await lastSeq(page));
  // What stood for left-out messages is no gap.
  await expect(page.getByTestId('price-chart')).toHaveAttribute('data-gaps', '0');
  expect(errors).toEqual([]);
});
