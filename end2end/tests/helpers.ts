import { expect, Page } from '@playwright/test';

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
