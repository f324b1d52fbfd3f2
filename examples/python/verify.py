#!/usr/bin/env python3
"""Verify a qq-webhook-bridge delivery (Standard Webhooks) with the Python standard library only.

Use ``verify(secret, headers, body)`` in your receiver: it raises ``VerificationError`` unless the request is
authentic and fresh. Pass the raw request body exactly as received -- re-serialising parsed JSON changes the
bytes and breaks the signature.

Command line (used by the bridge's tests, handy for debugging)::

    echo '{"secret": "whsec_...", "headers": {...}, "body": "..."}' | python3 verify.py

prints ``ok`` and exits 0, or prints ``fail: <reason>`` and exits 1.
"""

import base64
import hashlib
import hmac
import json
import sys
import time

TOLERANCE_SECONDS = 5 * 60
SECRET_PREFIX = "whsec_"


class VerificationError(Exception):
    """The request is not an authentic, fresh delivery."""


def _key(secret):
    # A whsec_ secret carries the key base64-encoded; any other string is used as its UTF-8 bytes.
    if secret.startswith(SECRET_PREFIX):
        return base64.b64decode(secret[len(SECRET_PREFIX):])
    return secret.encode("utf-8")


def _header(headers, name):
    # HTTP header names are case-insensitive; frameworks differ in how they spell them.
    for key, value in headers.items():
        if key.lower() == name:
            return value
    raise VerificationError("missing header " + name)


def verify(secret, headers, body, now=None, tolerance=TOLERANCE_SECONDS):
    """Raise VerificationError unless ``body`` was signed with ``secret`` (or one of a list of secrets).

    ``headers`` is a mapping; ``body`` is the raw body as ``bytes`` or ``str``. Timestamps more than
    ``tolerance`` seconds away from ``now`` are rejected, which bounds replays of a captured request.
    Any one matching ``v1`` signature among the space-separated ones is enough, so both the sender and the
    receiver can rotate secrets.
    """
    secrets = [secret] if isinstance(secret, str) else list(secret)
    msg_id = _header(headers, "webhook-id")
    msg_timestamp = _header(headers, "webhook-timestamp")
    msg_signature = _header(headers, "webhook-signature")

    try:
        timestamp = int(msg_timestamp)
    except ValueError:
        raise VerificationError("invalid webhook-timestamp") from None
    current = int(time.time() if now is None else now)
    if abs(current - timestamp) > tolerance:
        raise VerificationError("webhook-timestamp too far from now")

    payload = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    signed = msg_id.encode("utf-8") + b"." + str(timestamp).encode("ascii") + b"." + payload
    expected = [
        base64.b64encode(hmac.new(_key(s), signed, hashlib.sha256).digest()).decode("ascii") for s in secrets
    ]
    for versioned in msg_signature.split(" "):
        version, _, signature = versioned.partition(",")
        if version != "v1":
            continue
        # compare_digest: constant time, so the comparison leaks nothing about the expected value.
        if any(hmac.compare_digest(signature.encode("ascii", "replace"), e.encode("ascii")) for e in expected):
            return
    raise VerificationError("no matching signature")


def main():
    try:
        request = json.load(sys.stdin)
        verify(request["secret"], request["headers"], request["body"])
    except (VerificationError, KeyError, ValueError, TypeError) as err:
        print("fail: " + str(err))
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
