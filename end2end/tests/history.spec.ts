import { test, expect, APIRequestContext } from '@playwright/test';
import { collectErrors } from './helpers';

// Starts backtest `id` on GOOG and waits until the server says it is complete.
async function finished(request: APIRequestContext, id: string, strategy: string, params: object) {
  const started = await request.post('/api/backtests', { data: { id, dataset: 'GOOG', strategy, params } });
  expect(started.status()).toBe(201);
  await expect
    .poll(async () => (await (await request.get(`/api/backtests/${id}`)).json()).status)
    .toBe('complete');
}

test('past runs are listed, annotated, filtered, opened, compared and deleted', async ({ page, request }) => {
  const errors = collectErrors(page);
  const suffix = Date.now().toString(36);
  const ids = { fast: `h-fast-${suffix}`, slow: `h-slow-${suffix}`, hold: `h-hold-${suffix}` };
  await finished(request, ids.fast, 'sma_cross', { fast: 5, slow: 20 });
  await finished(request, ids.slow, 'sma_cross', { fast: 10, slow: 40 });
  await finished(request, ids.hold, 'buy_and_hold', {});

  await page.goto('/backtests');
  const history = page.getByTestId('run-history');
  const row = (id: string) => history.locator(`[data-testid=history-row][data-id="${id}"]`);
  for (const id of Object.values(ids)) {
    await expect(row(id)).toHaveAttribute('data-status', 'complete');
  }

  // Notes and tags, kept by the server.
  await row(ids.fast).getByTestId('history-annotate').click();
  const editor = page.getByTestId('notes-editor');
  await editor.locator('input[name=title]').fill('Fast cross');
  await editor.locator('textarea[name=notes]').fill('Try a slower exit next.');
  await editor.locator('input[name=tags]').fill('sma, goog');
  await editor.getByTestId('notes-save').click();
  await expect(row(ids.fast)).toContainText('Fast cross');
  await expect(row(ids.fast).locator('.tag')).toHaveText(['sma', 'goog']);
  const kept = await (await request.get(`/api/backtests/${ids.fast}`)).json();
  expect(kept.notes).toBe('Try a slower exit next.');
  expect(kept.tags).toEqual(['sma', 'goog']);

  // A filter asks the server for those runs alone.
  await history.locator('select[name=history-strategy]').selectOption('buy_and_hold');
  await expect(row(ids.fast)).toHaveCount(0);
  await expect(row(ids.hold)).toHaveCount(1);
  await history.locator('select[name=history-strategy]').selectOption('');
  await expect(row(ids.fast)).toHaveCount(1);

  // Compare two: curves overlaid, the best of each row marked, what differs marked.
  const compareOpen = page.getByTestId('compare-open');
  await expect(compareOpen).toBeDisabled();
  await row(ids.fast).getByTestId('compare-select').check();
  await row(ids.slow).getByTestId('compare-select').check();
  await expect(compareOpen).toBeEnabled();
  await compareOpen.click();
  const view = page.getByTestId('compare-view');
  await expect(view).toHaveAttribute('data-runs', '2');
  await expect(view.getByTestId('compare-equity')).toHaveAttribute('data-series', '2');
  const returns = view.locator('[data-testid=compare-metrics] tr[data-metric=Return] td');
  await expect(returns).toHaveCount(2);
  await expect(view.locator('[data-testid=compare-metrics] tr[data-metric=Return] td[data-best]')).toHaveCount(1);
  const best = await view.locator('[data-testid=compare-metrics] tr[data-metric=Return] td[data-best]').textContent();
  const states = await Promise.all(
    [ids.fast, ids.slow].map(async (id) => (await (await request.get(`/api/backtests/${id}`)).json()).state.data),
  );
  const top = Math.max(...states.map((s) => s.metrics.return_pct));
  expect(best).toContain(top.toFixed(2));
  const differs = view.locator('[data-testid=compare-setup] tr[data-differs]');
  await expect(differs.locator('th')).toHaveText(['fast', 'slow']);
  await view.getByTestId('compare-close').click();
  await expect(view).toHaveCount(0);

  // Opened in the same components as a live run.
  await row(ids.hold).getByTestId('history-open').click();
  const card = page.locator(`[data-testid=backtest-run][data-backtest-id="${ids.hold}"]`);
  await expect(card).toHaveAttribute('data-status', 'complete');
  await expect(card.getByTestId('backtest-progress')).toHaveAttribute('data-pct', '100');

  // Deleted: gone from the history and from the server.
  await row(ids.slow).getByTestId('history-delete').click();
  await expect(row(ids.slow)).toHaveCount(0);
  expect((await request.get(`/api/backtests/${ids.slow}`)).status()).toBe(404);
  expect(errors).toEqual([]);
});
