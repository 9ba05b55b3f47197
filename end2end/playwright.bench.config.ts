import { defineConfig } from '@playwright/test';
import base from './playwright.config';

// The dashboard budgets (scripts/bench/dashboard.sh): the same browser and server as the
// test suite, on its own port, running the specs in bench/ which print figures.
const port = Number(process.env.TICKWIRE_BENCH_PORT ?? 3200);

export default defineConfig({
  ...base,
  testDir: './bench',
  timeout: 180_000,
  use: { ...base.use, baseURL: `http://127.0.0.1:${port}` },
  webServer: {
    command:
      `../target/release/tickwire serve --addr 127.0.0.1:${port} --site-root ../target/site ` +
      '--tick-ms 250 --interval 5s',
    url: `http://127.0.0.1:${port}/api/ws/health`,
    reuseExistingServer: false,
    timeout: 30_000,
    stdout: 'pipe',
  },
});
