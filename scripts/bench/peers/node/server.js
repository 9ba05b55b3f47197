// The Node peer of scripts/bench/peers.sh: a plain `http` server and `ws`, speaking the
// subset of tickwire's protocol that `tickwire-bench bench` uses (see ../README.md).
//
//   node server.js PORT        listens on 127.0.0.1:PORT
//
// WS   /api/ws/stream/backtest/{id}  connected, subscribed, snapshot, then every envelope
//                                    published on backtest:{id}
// POST /api/publish                  {topic, type, data} or {messages: [...]}; each
//                                    message gets its topic's next seq, is serialised
//                                    once and the same bytes go to every subscriber;
//                                    answers {published: [{topic, seq}]}
// GET  /api/ws/health                {status: "ok"}
'use strict';

const http = require('http');
const crypto = require('crypto');
const { WebSocketServer } = require('ws');

const port = Number(process.argv[2] || 3300);
const STREAM = /^\/api\/ws\/stream\/backtest\/([^/?]+)$/;

/** topic → {seq, epoch, subscribers} */
const topics = new Map();
let connections = 0;

function topicState(topic) {
  let state = topics.get(topic);
  if (!state) {
    state = { seq: 0, epoch: crypto.randomUUID(), subscribers: new Set() };
    topics.set(topic, state);
  }
  return state;
}

function answer(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Publishes one message: next seq, the envelope serialised once, sent to every subscriber. */
function publish({ topic, type, data = {} }) {
  const state = topicState(topic);
  state.seq += 1;
  const envelope = Buffer.from(JSON.stringify({
    type, data, topic, seq: state.seq, epoch: state.epoch, timestamp: new Date().toISOString(),
  }));
  for (const ws of state.subscribers) ws.send(envelope, { binary: false });
  return { topic, seq: state.seq };
}

function onPublish(req, res) {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch (e) {
      return answer(res, 400, { error: 'malformed JSON' });
    }
    const items = body && Array.isArray(body.messages) ? body.messages : [body];
    if (!items.every((m) => m && typeof m.topic === 'string' && typeof m.type === 'string')) {
      return answer(res, 422, { error: 'each message needs a topic and a type' });
    }
    answer(res, 200, { published: items.map(publish) });
  });
}

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/api/ws/health') return answer(res, 200, { status: 'ok' });
  if (req.method === 'POST' && req.url === '/api/publish') return onPublish(req, res);
  answer(res, 404, { error: 'not found' });
});

const wss = new WebSocketServer({ noServer: true });

server.on('upgrade', (req, socket, head) => {
  // The query (a `max_rate` tickwire honours) is ignored: this server sends every message.
  const match = STREAM.exec(req.url.split('?')[0]);
  if (!match) return socket.destroy();
  wss.handleUpgrade(req, socket, head, (ws) => {
    const topic = `backtest:${decodeURIComponent(match[1])}`;
    const state = topicState(topic);
    connections += 1;
    ws.send(JSON.stringify({ type: 'connected', connection_id: String(connections), heartbeat_secs: 30, max_message_bytes: 65536 }));
    ws.send(JSON.stringify({ type: 'subscribed', topic, epoch: state.epoch, next_seq: state.seq + 1 }));
    ws.send(JSON.stringify({
      type: 'snapshot', topic, epoch: state.epoch, last_seq: state.seq,
      data: { kind: 'backtest', status: 'pending', started: null, progress: null, trades: [], equity: [], logs: [], metrics: null, complete: null, error: null },
    }));
    state.subscribers.add(ws);
    ws.on('close', () => state.subscribers.delete(ws));
    ws.on('error', () => state.subscribers.delete(ws));
  });
});

server.listen(port, '127.0.0.1');
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
