"""Generic webhook: a JSON POST of the event list, signed.

Body: `{"destination": NAME, "sent_at": ISO-8601, "events": [...]}` (each event cut
down to the allowlisted fields). Headers:

    X-Eventlake-Timestamp: <unix seconds>
    X-Eventlake-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>

The receiver recomputes the HMAC over the timestamp header, a dot and the raw body
with the shared secret (from the environment variable named by `secret_env`),
compares in constant time, and rejects timestamps older than a few minutes: a
captured request cannot be replayed later, and the timestamp cannot be changed
without breaking the signature. `verify_signature` below does exactly that.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import ClassVar

from .base import Destination, Request, chunks, dumps, utcnow

SIGNATURE_HEADER = "X-Eventlake-Signature"
TIMESTAMP_HEADER = "X-Eventlake-Timestamp"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value for a body sent at `timestamp` (unix seconds)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(secret: str, timestamp: str, body: bytes, signature: str, *, tolerance_s: float = 300, now: float | None = None) -> bool:
    """What a receiver does: the signature matches and the timestamp is recent."""
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - ts) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature or "")


class WebhookDestination(Destination):
    type: ClassVar[str] = "webhook"
    default_url = None
    max_batch = 10_000
    default_batch = 100
    secret_meaning = "HMAC signing secret"

    def build_requests(self, events: list[dict]) -> tuple[list[Request], dict[int, str]]:
        self.config.secret()  # a missing secret fails before anything is sent
        requests = []
        for idx in chunks(list(range(len(events))), self.batch_size):
            body = dumps({
                "destination": self.name,
                "sent_at": utcnow().isoformat().replace("+00:00", "Z"),
                "events": [events[i] for i in idx],
            })
            requests.append(Request(self.url, body, idx))
        return requests, {}

    def attempt_headers(self, request: Request) -> dict[str, str]:
        # signed at each attempt: a retried request carries a fresh timestamp
        ts = str(int(time.time()))
        return {TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: sign(self.config.secret() or "", ts, request.body)}
