import { test, expect, Page } from '@playwright/test';
import { collectErrors, expectDataAfter, lastSeq, mintToken } from './helpers';

// Runs against the token-mode server (`--jwt-secret`, project `token-mode` in
// playwright.config.ts); tokens are minted with `tickwire token` and pasted like a user would.

/** Every socket the page opens: its URL and the frames the page sent on it, in order. */
function recordSockets(page: Page): { url: string; sent: string[] }[] {
  const sockets: { url: string; sent: string[] }[] = [];
  page.on('websocket', (ws) => {
    const socket = { url: ws.url(), sent: [] as string[] };
    sockets.push(socket);
    ws.on('framesent', (frame) => socket.sent.push(String(frame.payload)));
  });
  return sockets;
}

async function signIn(page: Page, token: string) {
  await page.getByTestId('token-input').fill(token);
  await page.getByTestId('sign-in').click();
}

/** Browser noise expected here: Chromium logs every refused request (401) as a console error. */
function unexpected(errors: string[]): string[] {
  return errors.filter((e) => !e.includes('401'));
}

test('a token-mode server asks for a token; a pasted one signs in and streams live market data', async ({ page }) => {
  const errors = collectErrors(page);
  const sockets = recordSockets(page);
  await page.goto('/');
  const panel = page.getByTestId('sign-in-panel');
  const reason = page.getByTestId('sign-in-reason');
  await expect(panel).toBeVisible();
  await expect(reason).toContainText('needs a token');
  await expect(page.getByTestId('signed-in-as')).toHaveCount(0);

  // A token the server did not sign is refused, and the panel says so.
  await signIn(page, 'not.a-token.at-all');
  await expect(reason).toContainText('invalid token');
  await expect(panel).toBeVisible();

  const token = mintToken('alice', '1h');
  await signIn(page, token);
  await expect(panel).toBeHidden();
  await expect(page.getByTestId('signed-in-as')).toHaveText('alice');
  await expect(page.getByTestId('last-price')).toHaveText(/^\d+\.\d{2}$/);
  const status = page.getByTestId('connection-status');
  await expect(status).toHaveAttribute('data-state', 'connected');
  await expectDataAfter(page, await lastSeq(page));
  await expect(page.getByTestId('price-chart')).toHaveAttribute('data-gaps', '0');

  // The token travels as the first frame of the socket that streams, never in a URL.
  const live = sockets[sockets.length - 1];
  expect(live.sent.some((f) => f.includes('"subscribe"'))).toBe(true);
  expect(JSON.parse(live.sent[0])).toEqual({ action: 'auth', token });
  for (const socket of sockets) expect(socket.url).not.toContain(token);

  // It is kept across a reload: no panel, live data at once.
  await page.reload();
  await expect(page.getByTestId('signed-in-as')).toHaveText('alice');
  await expect(page.getByTestId('last-price')).toHaveText(/^\d+\.\d{2}$/);
  await expect(panel).toBeHidden();
  await expectDataAfter(page, await lastSeq(page));

  // Signing out forgets it, here and after a reload.
  await page.getByTestId('sign-out').click();
  await expect(panel).toBeVisible();
  await expect(page.getByTestId('signed-in-as')).toHaveCount(0);
  await page.reload();
  await expect(panel).toBeVisible();
  await expect(reason).toContainText('needs a token');
  expect(unexpected(errors)).toEqual([]);
});

test('when a short-lived token expires the page asks again, and a new token resumes the stream', async ({ page }) => {
  test.setTimeout(90_000);
  const errors = collectErrors(page);
  const sockets = recordSockets(page);
  await page.goto('/');
  const panel = page.getByTestId('sign-in-panel');
  const status = page.getByTestId('connection-status');
  await expect(panel).toBeVisible();

  // Valid for 3 s, plus the server's 5 s of clock leeway.
  await signIn(page, mintToken('alice', '3s'));
  await expect(page.getByTestId('signed-in-as')).toHaveText('alice');
  await expect(panel).toBeHidden();
  await expect(status).toHaveAttribute('data-state', 'connected');

  // The server closes the socket when the token lapses: the page asks for a new one and
  // stops streaming instead of reconnecting with a token that cannot work.
  await expect(panel).toBeVisible({ timeout: 20_000 });
  await expect(page.getByTestId('sign-in-reason')).toContainText('expired');
  await expect(status).toHaveAttribute('data-state', 'disconnected');
  const socketsWhenExpired = sockets.length;

  await signIn(page, mintToken('alice', '1h'));
  await expect(panel).toBeHidden();
  await expect(status).toHaveAttribute('data-state', 'connected');
  await expect(page.getByTestId('last-price')).toHaveText(/^\d+\.\d{2}$/);
  await expectDataAfter(page, await lastSeq(page));
  // One new socket, for the new token: none was opened while signed out.
  expect(sockets.length).toBe(socketsWhenExpired + 1);
  expect(unexpected(errors)).toEqual([]);
});

test("a signed-in user's own backtest: started with the token, followed to the end on the socket", async ({ page }) => {
  const errors = collectErrors(page);
  await page.goto('/backtests');
  // Tokens allow `market:*` by default; a user's own runs are always theirs to follow.
  // A user of its own, whose list of runs starts empty whatever ran before.
  const sub = `carol-${Date.now()}`;
  await signIn(page, mintToken(sub, '1h'));
  await expect(page.getByTestId('signed-in-as')).toHaveText(sub);
  const form = page.locator('form.backtest-form');
  // The page was rebuilt on sign-in and loaded the datasets with the token.
  await expect(form.locator('select[name=dataset] option')).not.toHaveCount(0);
  await form.locator('select[name=dataset]').selectOption('GOOG');
  await form.locator('select[name=strategy]').selectOption('sma_cross');
  await page.getByTestId('backtest-start').click();
  const run = page.getByTestId('backtest-run');
  await expect(run).toHaveCount(1);
  await expect(run.getByTestId('backtest-progress')).toHaveAttribute('data-pct', '100');
  await expect(run.getByTestId('backtest-metrics')).toBeVisible();
  await expect(page.getByTestId('connection-status')).toHaveAttribute('data-state', 'connected');
  expect(unexpected(errors)).toEqual([]);
});
