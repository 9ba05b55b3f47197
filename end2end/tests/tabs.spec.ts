import { APIRequestContext, expect, Page, test } from '@playwright/test';
import { collectErrors, collectSubscribes, expectDataAfter, lastSeq, setHidden } from './helpers';

/** The server's count of open sockets. */
async function connections(request: APIRequestContext): Promise<number> {
  const health = await (await request.get('/api/ws/health')).json();
  return health.connections;
}

const role = (page: Page) => page.getByTestId('tab-role').getAttribute('data-role');

test('three tabs share one socket, and when the leader closes another leads and every tab goes on without a gap', async ({
  context,
  request,
}) => {
  // Sockets other tests left open (none, normally) are not this test's.
  const others = await connections(request);
  const pages: Page[] = [];
  const errors: string[][] = [];
  for (let i = 0; i < 3; i++) {
    const page = await context.newPage();
    errors.push(collectErrors(page));
    await page.goto('/');
    await expect(page.getByTestId('connection-status')).toHaveAttribute('data-state', 'connected');
    pages.push(page);
  }
  for (const page of pages) await expectDataAfter(page, await lastSeq(page));
  // A tab that joins a topic the shared socket already follows gets its whole state
  // (the market's history candles), not only what came after it joined: the server
  // answers a repeated subscribe with `subscribed` alone, so the leader asks again.
  for (const page of pages) {
    const candles = async () => Number(await page.getByTestId('price-chart').getAttribute('data-candle-count'));
    await expect.poll(candles).toBeGreaterThan(100);
  }

  // One tab leads and holds the only socket; the others stream through it.
  await expect.poll(() => Promise.all(pages.map(role)).then((r) => r.sort())).toEqual(['follower', 'follower', 'leader']);
  await expect.poll(() => connections(request)).toBe(others + 1);
  const leader = pages[(await Promise.all(pages.map(role))).indexOf('leader')];
  await expect(leader.getByTestId('tab-role')).toHaveText('leads, for 2 other tabs');
  const rest = pages.filter((p) => p !== leader);

  // The leader goes; the next tab in line takes the lock, opens its own socket, and
  // the other resumes through it from its own cursor.
  const seqs = await Promise.all(rest.map(lastSeq));
  const closed = Date.now();
  await leader.close();
  await expect.poll(() => Promise.all(rest.map(role)).then((r) => r.sort())).toEqual(['follower', 'leader']);
  for (const [i, page] of rest.entries()) {
    await expect(page.getByTestId('connection-status')).toHaveAttribute('data-state', 'connected');
    await expectDataAfter(page, seqs[i]);
    await expect(page.getByTestId('price-chart')).toHaveAttribute('data-gaps', '0');
  }
  console.log(`every remaining tab streams again ${Date.now() - closed} ms after the leader closed`);
  await expect.poll(() => connections(request)).toBe(others + 1);
  for (const e of errors) expect(e).toEqual([]);
});

test('the shared socket asks the highest rate any tab wants, and one a second only when every tab is hidden', async ({
  context,
}) => {
  const first = await context.newPage();
  const errors = collectErrors(first);
  // The first tab leads: its socket is the one the server sees.
  const sent = collectSubscribes(first);
  await first.goto('/');
  await expect(first.getByTestId('connection-status')).toHaveAttribute('data-state', 'connected');
  await expect(first.getByTestId('tab-role')).toHaveAttribute('data-role', 'leader');
  const topic = await first.getByTestId('stream-age').getAttribute('data-topic');
  const second = await context.newPage();
  errors.push(...collectErrors(second));
  await second.goto('/');
  await expect(second.getByTestId('tab-role')).toHaveAttribute('data-role', 'follower');
  await expectDataAfter(second, await lastSeq(second));
  // The second tab joined a followed topic: the socket asked for its state again.
  await expect.poll(() => sent.map((s) => s.max_rate)).toEqual([10, 10]);

  // One tab hidden: the other still shows the chart, so the socket keeps asking ten.
  await setHidden(second, true);
  await setHidden(first, true);
  // Both hidden: one a second, asked once.
  await expect.poll(() => sent.slice(2)).toEqual([{ action: 'subscribe', topic, max_rate: 1 }]);
  await setHidden(second, false);
  await expect.poll(() => sent.slice(3)).toEqual([{ action: 'subscribe', topic, max_rate: 10 }]);
  await expectDataAfter(second, await lastSeq(second));
  await expect(second.getByTestId('price-chart')).toHaveAttribute('data-gaps', '0');
  await first.close();
  await second.close();
  expect(errors).toEqual([]);
});
