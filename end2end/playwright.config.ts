import { defineConfig } from '@playwright/test';

// The suite runs against the release build that `cargo leptos build --release` wrote
// (scripts/test.sh builds it first), served by the real tickwire binary.
const port = Number(process.env.TICKWIRE_E2E_PORT ?? 3100);

export default defineConfig({
  testDir: './tests',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  forbidOnly: !!process.env.CI,
  reporter: [['list']],
  outputDir: 'test-results',
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    trace: 'retain-on-failure',
    launchOptions: {
      // Debian's Chromium: Playwright's own browser download is not reachable here.
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },
  webServer: {
    command:
      `../target/release/tickwire serve --addr 127.0.0.1:${port} --site-root ../target/site ` +
      '--tick-ms 250 --interval 5s --data-dir ../data',
    url: `http://127.0.0.1:${port}/api/ws/health`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'pipe',
  },
  projects: [{ name: 'chromium', use: { browserName: 'chromium' } }],
});
