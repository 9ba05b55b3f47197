import { expect, test } from '@playwright/test';
import { collectErrors, setHidden } from './helpers';

// The browser's Notification API, recorded: permission starts unasked, the page's
// button asks, and every notification shown is kept in `window.__shown`.
const fakeNotifications = () => {
  const shown: { title: string; body?: string; tag?: string }[] = [];
  (window as unknown as { __shown: typeof shown }).__shown = shown;
  class FakeNotification {
    static permission: NotificationPermission = 'default';
    static async requestPermission(): Promise<NotificationPermission> {
      FakeNotification.permission = 'granted';
      return 'granted';
    }
    constructor(title: string, options: NotificationOptions = {}) {
      shown.push({ title, body: options.body, tag: options.tag });
    }
  }
  Object.defineProperty(window, 'Notification', { configurable: true, value: FakeNotification });
};

test('the notification centre counts unread notices, marks them read for every tab, and alerts while the page is hidden', async ({
  page,
  request,
}) => {
  const errors = collectErrors(page);
  await page.addInitScript(fakeNotifications);
  await page.goto('/backtests');
  await expect(page.getByTestId('connection-status')).toHaveAttribute('data-state', 'connected');
  const centre = page.getByTestId('notifications');
  const unread = centre.getByTestId('unread-count');

  // Earlier specs' runs told this user of their ends: start from all read.
  await centre.getByTestId('notifications-toggle').click();
  const panel = centre.getByTestId('notification-panel');
  await expect(panel).toBeVisible();
  if (await centre.getByTestId('mark-read').isEnabled()) {
    await centre.getByTestId('mark-read').click();
  }
  await expect(unread).toHaveText('0');
  await expect(centre.getByTestId('mark-read')).toBeDisabled();

  // A run that ends while the page is open: one unread notice, linked to its page.
  const id = `notified-${Date.now()}`;
  const started = await request.post('/api/backtests', {
    data: { id, dataset: 'GOOG', strategy: 'buy_and_hold' },
  });
  expect(started.status()).toBe(201);
  const notice = panel.locator('[data-testid=notice][data-event=run_finished]', {
    hasText: `Backtest ${id} completed`,
  });
  await expect(notice).toHaveClass(/unread/);
  await expect(notice).toContainText('GOOG buy_and_hold');
  await expect(notice.getByRole('link', { name: 'Open' })).toHaveAttribute('href', '/backtests');
  await expect(unread).toHaveText('1');

  // Read here is read everywhere: a second tab opens with nothing unread.
  await centre.getByTestId('mark-read').click();
  await expect(unread).toHaveText('0');
  await expect(notice).not.toHaveClass(/unread/);
  const other = await page.context().newPage();
  await other.goto('/sessions');
  await expect(other.getByTestId('connection-status')).toHaveAttribute('data-state', 'connected');
  await other.getByTestId('notifications').getByTestId('notifications-toggle').click();
  await expect(other.locator('[data-testid=notice]', { hasText: `Backtest ${id} completed` })).not.toHaveClass(/unread/);
  await expect(other.getByTestId('notifications').getByTestId('unread-count')).toHaveText('0');
  await other.close();

  // Allowed, the browser's notifications tell of a notice that comes while hidden.
  await panel.getByTestId('desktop-alerts').click();
  await expect(panel).toContainText('Alerts on while the page is hidden');
  await setHidden(page, true);
  const hiddenId = `${id}-hidden`;
  expect(
    (await request.post('/api/backtests', { data: { id: hiddenId, dataset: 'GOOG', strategy: 'buy_and_hold' } })).status(),
  ).toBe(201);
  await expect
    .poll(() => page.evaluate(() => (window as unknown as { __shown: { title: string }[] }).__shown.map((n) => n.title)))
    .toContain(`Backtest ${hiddenId} completed`);
  await setHidden(page, false);
  await expect(panel.locator('[data-testid=notice]', { hasText: `Backtest ${hiddenId} completed` })).toHaveClass(/unread/);
  await expect(unread).toHaveText('1');
  expect(errors).toEqual([]);
});
