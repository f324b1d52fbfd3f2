#!/usr/bin/env python3
"""Send a QQ message through the bridge's send API, with the Python standard library only.

    QQWB_API_TOKEN=... python3 send.py --group GROUP_OPENID --text pong [--reply-to MSG_ID]
    QQWB_API_TOKEN=... python3 send.py --user USER_OPENID --text pong

The bridge (``server.api_tokens`` set) stores the message in its outbound queue and sends it to QQ with the bot's
token: it numbers replies (``msg_seq``), holds sends while the gateway is not connected and retries. This script
waits up to ``--wait`` (default 5s) for QQ's answer and prints the message's status as JSON, e.g.
``{"id": "ob_...", "status": "sent", "attempts": 1, "qq": {"id": "ROBOT1.0_...", "timestamp": 1764072001}}``, or
``{"id": "ob_...", "status": "queued"}`` when the send has not finished yet (read it later at
``GET /v1/messages/{id}``).

Each message has an Idempotency-Key (``--key``, default a random UUID): sending the same request again with the
same key -- after a timeout, say -- answers the same id and sends nothing more. Exit 0 when sent or queued, 1 when
the message failed or the bridge refused it (its error is printed on stderr).
"""

import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid


def read_json(stream):
    """The answer's JSON; a body that is not JSON (a proxy's error page) as {"error": <its text>}."""
    text = stream.read().decode("utf-8", "replace")
    try:
        return json.loads(text)
    except ValueError:
        return {"error": text}


def send(base_url, token, path, body, key, wait):
    """POSTs body to the send API; returns (HTTP status, answer as JSON)."""
    url = f"{base_url.rstrip('/')}{path}?{urllib.parse.urlencode({'wait': wait})}"
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode("utf-8"),
        method="POST",
        headers={
            "authorization": f"Bearer {token}",
            "content-type": "application/json",
            "idempotency-key": key,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, read_json(response)
    except urllib.error.HTTPError as err:  # 4xx / 5xx: {"error": {"code", "message", "field"}}
        return err.code, read_json(err)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--group", help="group_openid: send to this group")
    where.add_argument("--user", help="user_openid: send to this user")
    parser.add_argument("--text", required=True, help="the message text")
    parser.add_argument("--reply-to", help="msg_id of the message this answers (a passive reply)")
    parser.add_argument("--url", default=os.environ.get("QQWB_URL", "http://127.0.0.1:9464"), help="server.listen")
    parser.add_argument("--key", default=None, help="Idempotency-Key; default a new random UUID")
    parser.add_argument("--wait", default="5s", help="how long the bridge waits for QQ's answer (at most 30s)")
    args = parser.parse_args()
    token = os.environ.get("QQWB_API_TOKEN", "")
    if not token:
        print("set QQWB_API_TOKEN to one of the bridge's server.api_tokens", file=sys.stderr)
        return 2

    path = (
        f"/v1/groups/{urllib.parse.quote(args.group, safe='')}/messages"
        if args.group
        else f"/v1/users/{urllib.parse.quote(args.user, safe='')}/messages"
    )
    body = {"content": args.text, "msg_type": 0}
    if args.reply_to:
        body["msg_id"] = args.reply_to  # the bridge adds msg_seq
    key = args.key or str(uuid.uuid4())
    try:
        status, answer = send(args.url, token, path, body, key, args.wait)
    except (urllib.error.URLError, OSError) as err:  # no answer: the message may or may not be stored
        print(f"no answer from the bridge at {args.url} ({err}); retry with --key {key}", file=sys.stderr)
        return 1
    if status >= 400:
        print(f"refused (HTTP {status}): {json.dumps(answer.get('error', answer))}", file=sys.stderr)
        return 1
    print(json.dumps(answer), flush=True)
    if answer.get("status") == "failed":
        print(f"failed: {json.dumps(answer.get('error'))}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
