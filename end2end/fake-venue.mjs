// A fake Binance for the browser tests (tests/venue.spec.ts): the market-data REST
// endpoint `GET /api/v3/klines` and the combined trade stream `/stream?streams=…`,
// shaped as binance/binance-spot-api-docs documents them (rest-api.md,
// "Kline/Candlestick data"; web-socket-streams.md, "Trade Streams"). It prints a
// BTCUSDT trade every 200 ms until told to go silent (`POST /control/silence`), and
// again after `POST /control/resume`. Usage: node fake-venue.mjs PORT
// It serves the socket with the `ws` package, the browser tests' one dev dependency
// besides Playwright: Node has a WebSocket client built in, but no server.
import http from 'node:http';
import { WebSocketServer } from 'ws';

const port = Number(process.argv[2] ?? 3102);
let silent = false;
let tradeId = 1;

function klines(url) {
  const start = Number(url.searchParams.get('startTime') ?? 0);
  const end = Number(url.searchParams.get('endTime') ?? 0);
  const step = { '1s': 1_000, '1m': 60_000 }[url.searchParams.get('interval')] ?? 60_000;
  const rows = [];
  for (let t = start - (start % step); t <= end; t += step) {
    const close = 64_000 + ((t / step) % 20) * 5;
    rows.push([t, `${close - 2}`, `${close + 4}`, `${close - 4}`, `${close}`, '1.5', t + step - 1, '96000', 12, '0.7', '44800', '0']);
  }
  return rows;
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, `http://127.0.0.1:${port}`);
  if (url.pathname === '/api/v3/klines') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(klines(url)));
  } else if (url.pathname === '/control/silence' || url.pathname === '/control/resume') {
    silent = url.pathname === '/control/silence';
    res.writeHead(204).end();
  } else if (url.pathname === '/health') {
    res.writeHead(200).end('ok');
  } else {
    res.writeHead(404).end();
  }
});

const sockets = new WebSocketServer({ server, path: '/stream' });
setInterval(() => {
  if (silent) return;
  const now = Date.now();
  const price = (64_050 + Math.sin(tradeId / 10) * 30).toFixed(2);
  const frame = JSON.stringify({
    stream: 'btcusdt@trade',
    data: { e: 'trade', E: now, s: 'BTCUSDT', t: tradeId++, p: price, q: '0.012', T: now, m: false, M: true },
  });
  for (const socket of sockets.clients) socket.send(frame);
}, 200);

server.listen(port, '127.0.0.1');
