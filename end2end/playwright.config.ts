import { defineConfig } from '@playwright/test';
import { JWT_SECRET } from './tests/helpers';

// The suite runs against the release build that `build_release` (scripts/env.sh) wrote
// (scripts/test.sh builds it first), served by the real tickwire binary: every spec
// against an anonymous server, and auth.spec.ts against a second one in token mode
// (`--jwt-secret`, docs/SPEC.md section 12) on the next port.
const port = Number(process.env.TICKWIRE_E2E_PORT ?? 3100);
const authPort = port + 1;
// venue.spec.ts: a fake Binance (fake-venue.mjs) and a server whose feed is that venue.
const venuePort = port + 2;
const fakeVenuePort = port + 3;
const fakeVenue = `127.0.0.1:${fakeVenuePort}`;

// Each server keeps its runs in a store of its own, made afresh for every suite run.
const serve = (p: number, extra = '') => ({
  command:
    `rm -rf ../target/e2e-state/${p} && ` +
    `../target/release/tickwire serve --addr 127.0.0.1:${p} --site-root ../target/site ` +
    `--tick-ms 250 --interval 5s --data-dir ../data ` +
    `--database-url sqlite://../target/e2e-state/${p}/tickwire.db${extra}`,
  url: `http://127.0.0.1:${p}/api/ws/health`,
  reuseExistingServer: false,
  timeout: 60_000,
  stdout: 'pipe' as const,
});

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
  webServer: [
    serve(port),
    serve(authPort, ` --jwt-secret ${JWT_SECRET}`),
    {
      command: `node fake-venue.mjs ${fakeVenuePort}`,
      url: `http://${fakeVenue}/health`,
      reuseExistingServer: false,
      timeout: 60_000,
    },
    serve(
      venuePort,
      ` --feed binance:BTCUSDT --feed-ws-url binance=ws://${fakeVenue} --feed-rest-url binance=http://${fakeVenue}`,
    ),
  ],
  projects: [
    { name: 'chromium', testIgnore: /(auth|venue)\.spec\.ts$/, use: { browserName: 'chromium' } },
    {
      name: 'token-mode',
      testMatch: /auth\.spec\.ts$/,
      use: { browserName: 'chromium', baseURL: `http://127.0.0.1:${authPort}` },
    },
    {
      name: 'venue',
      testMatch: /venue\.spec\.ts$/,
      use: { browserName: 'chromium', baseURL: `http://127.0.0.1:${venuePort}` },
    },
  ],
});
