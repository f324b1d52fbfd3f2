#!/usr/bin/env python3
"""A complete qq-webhook-bridge receiver with the Python standard library only.

    WEBHOOK_SECRET=whsec_... python3 receiver.py --host 127.0.0.1 --port 8000

Point a target's ``url`` at ``http://<host>:<port>/webhook`` (any path works) with the same secret. For each POST
it:

1. reads the raw body and verifies it with ``verify.py`` (HMAC-SHA256 over ``id.timestamp.body``; timestamps more
   than 5 minutes away are refused, which bounds replays of a captured request) -- 401 when that fails;
2. dedupes on ``webhook-id``: the bridge retries a delivery with the same id when it saw no 2xx (a timeout, a
   crash after processing), so an id already processed is answered 200 and not processed again. The ids are kept
   in memory in a bounded LRU; a real service keeps them where its side effects are (a unique key in its database);
3. processes the event -- here it prints one line -- and answers 200.

With ``REPLY=1`` it also answers each @-message (``group.message.at``) and direct message
(``c2c.message.created``) with ``{"reply": {"content": "echo: <their text>", "msg_type": 0}}``: the bridge sends
that to QQ as a reply to the message, with its own token, ``msg_id`` and ``msg_seq``.

Several secrets (during a rotation) go space-separated in WEBHOOK_SECRET. ``GET /healthz`` answers 200.
"""

import argparse
import json
import os
import sys
import threading
from collections import OrderedDict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from verify import VerificationError, verify  # noqa: E402  (the file next to this one)

MAX_BODY_BYTES = 1024 * 1024
SEEN_IDS = 10_000
REPLY = os.environ.get("REPLY") == "1"
ANSWERED_TYPES = ("group.message.at", "c2c.message.created")


class SeenIds:
    """A thread-safe LRU set of the webhook-ids already processed, bounded so memory stays flat."""

    def __init__(self, capacity):
        self._capacity = capacity
        self._ids = OrderedDict()
        self._lock = threading.Lock()

    def claim(self, msg_id):
        """Records msg_id; False when it was already there. Atomic, so two concurrent retries process once."""
        with self._lock:
            if msg_id in self._ids:
                self._ids.move_to_end(msg_id)
                return False
            self._ids[msg_id] = True
            while len(self._ids) > self._capacity:
                self._ids.popitem(last=False)
            return True

    def forget(self, msg_id):
        """Undoes claim() when processing failed, so the bridge's retry is processed."""
        with self._lock:
            self._ids.pop(msg_id, None)


def process(event):
    """Your business logic goes here. It must be idempotent per event id, or guarded by the dedupe above."""
    data = event.get("data") or {}
    who = data.get("group_openid") or data.get("user_openid") or "-"
    print(f"event {event.get('id')} {event.get('type')} {who}", flush=True)


def reply_to(event):
    """The reply to send for this event, or None. Derived from the event alone, so a redelivery of the same
    webhook-id gets the same answer: the bridge stores each reply once, however often it is answered."""
    if not REPLY or event.get("type") not in ANSWERED_TYPES:
        return None
    message = (event.get("data") or {}).get("message") or {}
    return {"content": f"echo: {str(message.get('content') or '').strip()}", "msg_type": 0}


def answer(event, status):
    """The 2xx body: {"reply": ...} makes the bridge send a message back; anything else only acknowledges."""
    reply = reply_to(event)
    return {"reply": reply} if reply is not None else {"status": status}


def make_handler(secrets, seen):
    class Handler(BaseHTTPRequestHandler):
        server_version = "qqwb-example-receiver"

        def _answer(self, status, payload):
            body = json.dumps(payload).encode("utf-8")
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path == "/healthz":
                self._answer(200, {"status": "ok"})
            else:
                self._answer(404, {"error": "not_found"})

        def do_POST(self):
            length = int(self.headers.get("content-length") or 0)
            if length > MAX_BODY_BYTES:
                self._answer(413, {"error": "too_large"})
                return
            body = self.rfile.read(length)
            msg_id = self.headers.get("webhook-id", "")
            try:
                verify(secrets, self.headers, body)
            except VerificationError as err:
                print(f"rejected {msg_id or '(no id)'}: {err}", flush=True)
                self._answer(401, {"error": "invalid_signature"})
                return
            try:
                event = json.loads(body)
            except ValueError:
                event = None
            if not isinstance(event, dict):
                self._answer(400, {"error": "invalid_json"})
                return
            if not seen.claim(msg_id):
                print(f"duplicate {msg_id}: already processed", flush=True)
                self._answer(200, answer(event, "duplicate"))  # the same reply again: the bridge sends it once
                return
            try:
                process(event)
            except Exception as err:  # noqa: BLE001  (any failure: let the bridge retry later)
                seen.forget(msg_id)
                print(f"failed {msg_id}: {err}", flush=True)
                self._answer(500, {"error": "processing_failed"})
                return
            self._answer(200, answer(event, "ok"))

        def log_message(self, format, *args):  # noqa: A002  (signature set by BaseHTTPRequestHandler)
            pass  # one line per event from process() is enough

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (0.0.0.0 in a container)")
    parser.add_argument("--port", type=int, default=8000, help="port; 0 picks a free one")
    args = parser.parse_args()
    secrets = os.environ.get("WEBHOOK_SECRET", "").split()
    if not secrets:
        print("set WEBHOOK_SECRET to the target's secret (whsec_...)", file=sys.stderr)
        return 2
    server = ThreadingHTTPServer((args.host, args.port), make_handler(secrets, SeenIds(SEEN_IDS)))
    host, port = server.server_address[:2]
    print(f"listening on http://{host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
