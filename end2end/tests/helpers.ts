import { expect, Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import path from 'node:path';

/** The secret of the token-mode server (playwright.config.ts), which signs test tokens. */
export const JWT_SECRET = 'e2e-secret-of-at-least-thirty-two-bytes';

/** A token for `sub` valid for `ttl` (`1h`, `3s`), minted by `tickwire token` like an operator would. */
export function mintToken(sub: string, ttl: string): string {
  const tickwire = path.join(__dirname, '..', '..', 'target', 'release', 'tickwire');
  return execFileSync(tickwire, ['token', '--sub', sub, '--ttl', ttl], {
    env: { ...process.env, TICKWIRE_JWT_SECRET: JWT_SECRET },
    encoding: 'utf8',
  }).trim();
}

/** Collects script errors and console errors the page reports; tests assert it stays empty. */
export function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // A socket the test itself refuses is logged by Chromium; that is the point of the test.
    if (m.type() === 'error' && !m.text().includes('WebSocket')) errors.push(`console: ${m.text()}`);
  });
  return errors;
}

/** The chart's last seq, read from its data attribute. */
export async function lastSeq(page: Page): Promise<number> {
  return Number(await page.getByTestId('price-chart').getAttribute('data-last-seq'));
}

/** Waits until the chart's seq has moved past `seq` (new data arrived). */
export async function expectDataAfter(page: Page, seq: number, timeout = 10_000) {
  await expect.poll(() => lastSeq(page), { timeout }).toBeGreaterThan(seq);
}

/** Hides or shows the page as a switch to another tab would (headless pages are always visible). */
export async function setHidden(page: Page, hidden: boolean) {
  await page.evaluate((hidden) => {
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => hidden });
    Object.defineProperty(document, 'visibilityState', {
      configurable: true,
      get: () => (hidden ? 'hidden' : 'visible'),
    });
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);
}

/** The subscribe frames the page's own sockets send for topics starting with `prefix`
 * (the market's, by default: every page also follows the user's notice channel), from
 * now on. */
export function collectSubscribes(
  page: Page,
  prefix = 'market:',
): { topic: string; since?: unknown; max_rate?: number }[] {
  const sent: { topic: string; since?: unknown; max_rate?: number }[] = [];
  page.on('websocket', (ws) =>
    ws.on('framesent', (f) => {
      if (typeof f.payload !== 'string') return;
      const action = JSON.parse(f.payload);
      if (action.action === 'subscribe' && action.topic?.startsWith(prefix)) sent.push(action);
    }),
  );
  return sent;
}
