import { APIRequestContext, expect, Page, test } from '@playwright/test';
import { collectErrors, expectDataAfter, lastSeq } from './helpers';

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
