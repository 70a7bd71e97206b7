"""Amplitude HTTP API v2.

    POST <url>   (default https://api2.amplitude.com/2/httpapi; EU: https://api.eu.amplitude.com/2/httpapi)
    {"api_key": <secret>, "events": [{"event_type", "user_id", "device_id", "time" (ms),
                                       "insert_id" (= messageId, Amplitude de-duplicates on it),
                                       "event_properties"}]}

track -> the event name, page -> "Viewed <name> Page" (or "Loaded a Page"), screen ->
"Viewed <name> Screen" (or "Loaded a Screen"), identify -> "$identify" with
user_properties {"$set": traits} when `traits` is an allowed field. An event without
userId and anonymousId is not sent (failed). A 400 that names the events with invalid
or missing fields fails those events and sends the others again at once; any other
400 fails the whole request; 429 (throttled) is retried.
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx
import orjson

from .base import Destination, Request, Verdict, chunks, dumps, judge_status, parse_time


class AmplitudeDestination(Destination):
    type: ClassVar[str] = "amplitude"
    default_url = "https://api2.amplitude.com/2/httpapi"
    max_batch = 2000
    default_batch = 100
    event_types = ("track", "page", "screen", "identify")
    allowed_options = ("min_id_length",)
    secret_meaning = "Amplitude API key"

    def accepts(self, record: dict) -> bool:
        if (record.get("type") or (record.get("payload") or {}).get("type")) == "identify" and "traits" not in self.config.fields:
            return False  # an identify without traits carries nothing for Amplitude
        return super().accepts(record)

    def to_amplitude(self, event: dict) -> dict:
        etype = event.get("type")
        name = event.get("name")
        out: dict[str, Any] = {}
        if etype == "page":
            out["event_type"] = f"Viewed {name} Page" if name else "Loaded a Page"
        elif etype == "screen":
            out["event_type"] = f"Viewed {name} Screen" if name else "Loaded a Screen"
        elif etype == "identify":
            out["event_type"] = "$identify"
        else:
            out["event_type"] = str(event.get("event") or "")
        if event.get("userId") is not None:
            out["user_id"] = str(event["userId"])
        if event.get("anonymousId") is not None:
            out["device_id"] = str(event["anonymousId"])
        when = parse_time(event.get("timestamp"))
        if when is not None:
            out["time"] = int(when.timestamp() * 1000)
        if event.get("messageId"):
            out["insert_id"] = str(event["messageId"])
        if isinstance(event.get("properties"), dict) and etype != "identify":
            out["event_properties"] = event["properties"]
        if etype == "identify" and isinstance(event.get("traits"), dict):
            out["user_properties"] = {"$set": event["traits"]}
        return out

    def build_requests(self, events: list[dict]) -> tuple[list[Request], dict[int, str]]:
        api_key = self.config.secret()
        refused: dict[int, str] = {}
        ok: list[int] = []
        for i, e in enumerate(events):
            if e.get("userId") is None and e.get("anonymousId") is None:
                refused[i] = "no userId or anonymousId (Amplitude needs user_id or device_id)"
            elif e.get("type") == "track" and not e.get("event"):
                refused[i] = "track event without an event name"
            else:
                ok.append(i)
        requests = []
        for part in chunks(ok, self.batch_size):
            body: dict[str, Any] = {"api_key": api_key, "events": [self.to_amplitude(events[i]) for i in part]}
            if self.config.options.get("min_id_length") is not None:
                body["options"] = {"min_id_length": int(self.config.options["min_id_length"])}
            requests.append(Request(self.url, dumps(body), part))
        return requests, refused

    def judge(self, response: httpx.Response, request: Request) -> Verdict:
        verdict = judge_status(response)
        if response.status_code != 400:
            return verdict
        try:
            info = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            return verdict
        if not isinstance(info, dict):
            return verdict
        bad: dict[int, str] = {}
        for key, what in (("events_with_invalid_fields", "invalid"), ("events_with_missing_fields", "missing")):
            fields = info.get(key) or {}
            if isinstance(fields, dict):
                for field_name, indexes in fields.items():
                    for i in indexes if isinstance(indexes, list) else []:
                        if isinstance(i, int) and 0 <= i < len(request.indexes):
                            bad[i] = (bad[i] + ", " if i in bad else "") + f"{what} {field_name}"
        if info.get("missing_field") or not bad:
            return verdict  # the request itself is wrong (e.g. api_key missing): all failed
        per_event = {i: ("failed", f"HTTP 400: {why}") for i, why in bad.items()}
        resend = [i for i in range(len(request.indexes)) if i not in bad]
        return Verdict("failed", "HTTP 400: rejected with other events of the batch; sent again", per_event=per_event, resend=resend)
