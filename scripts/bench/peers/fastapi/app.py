"""The FastAPI peer of scripts/bench/peers.sh: the seeds' design (a ConnectionManager
holding the active connections per topic, broadcasting with asyncio.gather), speaking
the subset of tickwire's protocol that `tickwire-bench bench` uses (see ../README.md).

    python app.py PORT        uvicorn, one worker, on 127.0.0.1:PORT

WS   /api/ws/stream/backtest/{id}  connected, subscribed, snapshot, then every envelope
                                   published on backtest:{id}
POST /api/publish                  {topic, type, data} or {messages: [...]}; each message
                                   gets its topic's next seq, is serialised once and the
                                   same text goes to every subscriber; answers
                                   {published: [{topic, seq}]}
GET  /api/ws/health                {status: "ok"}
"""

import asyncio
import itertools
import json
import sys
import uuid
from collections import defaultdict
from datetime import datetime, timezone

import uvicorn
from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse


def dumps(value) -> str:
    """Compact JSON, as tickwire writes it."""
    return json.dumps(value, separators=(",", ":"))


class ConnectionManager:
    def __init__(self) -> None:
        self.active_connections: dict[str, list[WebSocket]] = defaultdict(list)
        self.seqs: dict[str, int] = defaultdict(int)
        self.epochs: dict[str, str] = defaultdict(lambda: uuid.uuid4().hex)

    def connect(self, topic: str, websocket: WebSocket) -> None:
        self.active_connections[topic].append(websocket)

    def disconnect(self, topic: str, websocket: WebSocket) -> None:
        if websocket in self.active_connections[topic]:
            self.active_connections[topic].remove(websocket)

    async def broadcast(self, topic: str, text: str) -> None:
        await asyncio.gather(
            *(ws.send_text(text) for ws in list(self.active_connections[topic])),
            return_exceptions=True,
        )

    async def publish(self, topic: str, kind: str, data) -> int:
        self.seqs[topic] += 1
        seq = self.seqs[topic]
        envelope = dumps(
            {
                "type": kind,
                "data": data,
                "topic": topic,
                "seq": seq,
                "epoch": self.epochs[topic],
                "timestamp": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            }
        )
        await self.broadcast(topic, envelope)
        return seq


app = FastAPI()
manager = ConnectionManager()
connection_ids = itertools.count(1)


@app.get("/api/ws/health")
async def health():
    return {"status": "ok"}


@app.post("/api/publish")
async def publish(request: Request):
    try:
        body = await request.json()
    except ValueError:
        return JSONResponse({"error": "malformed JSON"}, status_code=400)
    items = body["messages"] if isinstance(body, dict) and isinstance(body.get("messages"), list) else [body]
    if not all(isinstance(m, dict) and isinstance(m.get("topic"), str) and isinstance(m.get("type"), str) for m in items):
        return JSONResponse({"error": "each message needs a topic and a type"}, status_code=422)
    published = []
    for m in items:
        seq = await manager.publish(m["topic"], m["type"], m.get("data", {}))
        published.append({"topic": m["topic"], "seq": seq})
    return {"published": published}


@app.websocket("/api/ws/stream/backtest/{run_id}")
async def stream(websocket: WebSocket, run_id: str):
    topic = f"backtest:{run_id}"
    await websocket.accept()
    epoch, seq = manager.epochs[topic], manager.seqs[topic]
    await websocket.send_text(
        dumps({"type": "connected", "connection_id": str(next(connection_ids)), "heartbeat_secs": 30, "max_message_bytes": 65536})
    )
    await websocket.send_text(dumps({"type": "subscribed", "topic": topic, "epoch": epoch, "next_seq": seq + 1}))
    snapshot = {
        "kind": "backtest", "status": "pending", "started": None, "progress": None, "trades": [],
        "equity": [], "logs": [], "metrics": None, "complete": None, "error": None,
    }  # fmt: skip
    await websocket.send_text(dumps({"type": "snapshot", "topic": topic, "epoch": epoch, "last_seq": seq, "data": snapshot}))
    manager.connect(topic, websocket)
    try:
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        pass
    finally:
        manager.disconnect(topic, websocket)


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 3300
    uvicorn.run(app, host="127.0.0.1", port=port, workers=1, log_level="warning", access_log=False)
