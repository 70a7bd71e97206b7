"""Any Segment-compatible HTTP API (Segment itself, RudderStack, another eventlake
collector): POST <url>/v1/batch with HTTP basic auth (the write key as user name, an
empty password) and `{"batch": [...], "sentAt": ...}`. Events keep their Segment
shape, cut down to the allowed fields."""

from __future__ import annotations

import base64
from typing import ClassVar

from .base import Destination, Request, chunks, dumps, utcnow


class SegmentDestination(Destination):
    type: ClassVar[str] = "segment"
    default_url = "https://api.segment.io"
    max_batch = 2500
    default_batch = 100
    secret_meaning = "write key"

    def request_url(self) -> str:
        return self.url.rstrip("/") + "/v1/batch"

    def build_requests(self, events: list[dict]) -> tuple[list[Request], dict[int, str]]:
        token = base64.b64encode(f"{self.config.secret()}:".encode()).decode()
        url = self.request_url()
        requests = []
        for part in chunks(list(range(len(events))), self.batch_size):
            body = dumps({"batch": [events[i] for i in part], "sentAt": utcnow().isoformat().replace("+00:00", "Z")})
            requests.append(Request(url, body, part, headers={"Authorization": f"Basic {token}"}))
        return requests, {}
