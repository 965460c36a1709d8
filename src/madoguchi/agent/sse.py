"""`GET /events`: card insertion and removal as server-sent events."""

from __future__ import annotations

import json
import queue
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from madoguchi.agent.http import Handler

SSE_KEEPALIVE = 15.0


def stream_events(handler: Handler) -> None:
    """Send each card event to the client until it goes away or the agent stops."""
    agent = handler.agent
    subscription = agent.subscribe()
    try:
        handler.send_response(200)
        handler.common_headers()
        handler.send_header("Content-Type", "text/event-stream; charset=utf-8")
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(b"retry: 2000\n\n")
        handler.wfile.flush()
        while True:
            try:
                event = subscription.get(timeout=SSE_KEEPALIVE)
            except queue.Empty:
                handler.wfile.write(b": keep-alive\n\n")
                handler.wfile.flush()
                continue
            if event is None:
                return
            data = {
                "kind": event.kind,
                "cert_fingerprint": event.cert_fingerprint,
                "at": event.at,
            }
            handler.wfile.write(f"event: card\ndata: {json.dumps(data)}\n\n".encode())
            handler.wfile.flush()
    except OSError:
        return
    finally:
        agent.unsubscribe(subscription)
        handler.close_connection = True
