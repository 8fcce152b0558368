"""A bare FastAPI WebSocket broadcast server: the ceiling ``bench_service.py`` compares with.

Subscribers connect to ``/ws/sub`` and get ``{"type":"ready"}``, then every published text.
A publisher sends text to ``/ws/pub`` and gets ``{"type":"ack","n":…}`` once the text is queued
for every subscriber. Each subscriber has its own queue and sender task, the shape of
``web/sockets.py``, but there is no token, no parsing, no log and no state: this is what
FastAPI and uvicorn alone fan out on this machine with the same settings.

    .venv/bin/python benchmarks/_bare_broadcast.py --port 8100 [--permessage-deflate]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

import uvicorn
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

__all__ = ["create_bare_app"]


def create_bare_app() -> FastAPI:
    """The broadcast app: ``/ws/sub``, ``/ws/pub`` and ``GET /health``."""
    app = FastAPI()
    subscribers: set[asyncio.Queue[str]] = set()
    published = {"n": 0}

    @app.get("/health")
    def health() -> dict[str, int]:
        return {"subscribers": len(subscribers), "published": published["n"]}

    async def sender(ws: WebSocket, queue: asyncio.Queue[str]) -> None:
        while True:
            await ws.send_text(await queue.get())

    @app.websocket("/ws/sub")
    async def sub(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text('{"type":"ready"}')
        queue: asyncio.Queue[str] = asyncio.Queue()
        subscribers.add(queue)
        task = asyncio.create_task(sender(ws, queue))
        try:
            while (await ws.receive())["type"] != "websocket.disconnect":
                pass
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            subscribers.discard(queue)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await task

    @app.websocket("/ws/pub")
    async def pub(ws: WebSocket) -> None:
        await ws.accept()
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            while True:
                text = await ws.receive_text()
                for queue in subscribers:
                    queue.put_nowait(text)
                published["n"] += 1
                await ws.send_text(f'{{"type":"ack","n":{published["n"]}}}')

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--permessage-deflate", action="store_true",
                        help="compress frames (uvicorn ws_per_message_deflate)")
    args = parser.parse_args()
    config = uvicorn.Config(create_bare_app(), host="127.0.0.1", port=args.port,
                            ws_per_message_deflate=args.permessage_deflate,
                            log_level="warning", lifespan="on")
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
