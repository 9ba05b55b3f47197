import { expect, test } from '@playwright/test';
import { collectErrors } from './helpers';

test('a sweep fills its heatmap live once resumed, a cell opens the backtest whose metrics it shows, and the history opens it again', async ({
  page,
  request,
}) => {
  const errors = collectErrors(page);
  await page.goto('/sweeps');
  await expect(page.getByTestId('connection-status')).toHaveAttribute('data-state', 'connected');
  await expect(page.locator('select[name=dataset]')).toHaveValue('GOOG');
  // The form's default grid: fast 5 to 30 by 5, slow 20 to 60 by 10: 30 combinations,
  // of which four (fast 20, 25 and 30 with slow 20; fast 30 with slow 30) the strategy
  // refuses: fast must be below slow.
  await page.getByTestId('sweep-paused').check();
  await page.getByTestId('sweep-start').click();
  const sweep = page.getByTestId('sweep');
  await expect(sweep).toHaveAttribute('data-status', 'paused');
  const cells = sweep.getByTestId('sweep-cell');
  await expect(cells).toHaveCount(30);
  const landed = sweep.locator('[data-testid=sweep-cell][data-value]');
  await expect(landed).toHaveCount(0);

  await sweep.getByTestId('sweep-resume').click();
  await expect(sweep).toHaveAttribute('data-status', 'complete');
  await expect(landed).toHaveCount(26);
  await expect(sweep.locator('[data-testid=sweep-cell][data-params="fast=30,slow=20"]')).toBeDisabled();
  const top = sweep.getByTestId('sweep-top-row');
  await expect(top).toHaveCount(10);

  // The best cell is the first of the top; it opens its full backtest.
  const best = await top.first().getAttribute('data-params');
  const cellParams = (best ?? '').replace(/, /g, ',');
  const cell = sweep.locator(`[data-testid=sweep-cell][data-params="${cellParams}"]`);
  const value = Number(await cell.getAttribute('data-value'));
  await cell.click();
  const run = page.getByTestId('backtest-run');
  await expect(run).toHaveAttribute('data-status', 'complete');
  const id = await run.getAttribute('data-backtest-id');
  const state = await (await request.get(`/api/backtests/${id}`)).json();
  expect(state.params).toEqual(Object.fromEntries(cellParams.split(',').map((p) => [p.split('=')[0], Number(p.split('=')[1])])));
  expect(state.state.data.metrics.return_pct).toBeCloseTo(value, 9);

  // Kept with the history: after a reload it is listed, and opens whole, its cells
  // still opening backtests on its dataset.
  const sweepId = await sweep.getAttribute('data-sweep-id');
  await page.reload();
  const row = page.locator(`[data-testid=history-row][data-id="${sweepId}"]`);
  await expect(row).toHaveAttribute('data-status', 'complete');
  await row.getByTestId('history-open').click();
  const reopened = page.locator(`[data-testid=sweep][data-sweep-id="${sweepId}"]`);
  await expect(reopened).toHaveAttribute('data-status', 'complete');
  await expect(reopened.locator('[data-testid=sweep-cell][data-value]')).toHaveCount(26);
  await expect(reopened.getByTestId('sweep-top-row').first()).toHaveAttribute('data-params', best ?? '');
  await reopened.locator(`[data-testid=sweep-cell][data-params="${cellParams}"]`).click();
  await expect(page.getByTestId('backtest-run')).toHaveAttribute('data-status', 'complete');
  expect(errors).toEqual([]);
});
