"""Google Analytics 4 Measurement Protocol.

    POST <url>?measurement_id=<measurement_id>&api_secret=<secret>
    {"client_id": anonymousId, "user_id": userId,
     "events": [{"name": ..., "params": {...}, "timestamp_micros": ...}]}

At most 25 events per request, grouped by (client_id, user_id) since those are per
request. track -> the event name, page -> page_view (page_location, page_title,
page_referrer), screen -> screen_view (screen_name); identify/group/alias are not sent.
Names follow GA4's rules (letters, digits and underscores, starting with a letter, at
most 40 characters, no reserved names or prefixes); parameter values are strings of at
most 100 characters or numbers, nested values are left out, at most 25 per event.
GA4 answers 2xx even to events it discards; use the /debug/mp/collect url to validate.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar
from urllib.parse import urlencode

from .base import Destination, Request, chunks, dumps, parse_time

NAME_LIMIT = 40
VALUE_LIMIT = 100
PARAMS_LIMIT = 25
RESERVED_PREFIXES = ("_", "firebase_", "ga_", "google_", "gtag.")
RESERVED_EVENTS = frozenset({
    "ad_activeview", "ad_click", "ad_exposure", "ad_impression", "ad_query", "ad_reward", "adunit_exposure",
    "app_background", "app_clear_data", "app_exception", "app_remove", "app_store_refund",
    "app_store_subscription_cancel", "app_store_subscription_convert", "app_store_subscription_renew",
    "app_update", "app_upgrade", "dynamic_link_app_open", "dynamic_link_app_update", "dynamic_link_first_open",
    "error", "first_open", "first_visit", "in_app_purchase", "notification_dismiss", "notification_foreground",
    "notification_open", "notification_receive", "os_update", "session_start", "session_start_with_rollout",
    "user_engagement",
})
_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9_]+")


def ga4_name(name: Any, *, event: bool = True) -> str:
    """A name made to follow GA4's rules: 'Order Completed' -> 'Order_Completed',
    '2fa-enabled' -> 'e_2fa_enabled', 'session_start' -> 'e_session_start'."""
    text = _NOT_ALLOWED.sub("_", str(name or "")).strip("_")
    text = re.sub(r"_{2,}", "_", text)
    if not text:
        text = "event" if event else "param"
    if not text[0].isalpha() or text.lower().startswith(RESERVED_PREFIXES) or (event and text.lower() in RESERVED_EVENTS):
        text = "e_" + text
    return text[:NAME_LIMIT].rstrip("_")


def ga4_value(value: Any) -> Any:
    """A parameter value GA4 takes (string or number), or None to leave it out."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        return value[:VALUE_LIMIT]
    return None


class GA4Destination(Destination):
    type: ClassVar[str] = "ga4"
    default_url = "https://www.google-analytics.com/mp/collect"
    max_batch = 25
    default_batch = 25
    default_concurrency = 8  # requests are per client: many small ones
    event_types = ("track", "page", "screen")
    required_options = ("measurement_id",)
    allowed_options = ("measurement_id",)
    secret_meaning = "Measurement Protocol API secret"

    def request_url(self) -> str:
        query = urlencode({"measurement_id": self.config.options["measurement_id"], "api_secret": self.config.secret() or ""})
        return f"{self.url}{'&' if '?' in self.url else '?'}{query}"

    def to_ga4(self, event: dict) -> dict:
        props = event.get("properties") if isinstance(event.get("properties"), dict) else {}
        etype = event.get("type")
        params: dict[str, Any] = {}
        if etype == "page":
            name = "page_view"
            for src, dst in (("url", "page_location"), ("title", "page_title"), ("referrer", "page_referrer")):
                if props.get(src) is not None:
                    params[dst] = props[src]
            props = {k: v for k, v in props.items() if k not in ("url", "title", "referrer")}
        elif etype == "screen":
            name = "screen_view"
            if event.get("name"):
                params["screen_name"] = event["name"]
        else:
            name = ga4_name(event.get("event"))
        for key, value in props.items():
            params.setdefault(ga4_name(key, event=False), value)
        clean = {}
        for key, value in params.items():
            v = ga4_value(value)
            if v is not None and len(clean) < PARAMS_LIMIT:
                clean[key] = v
        out: dict[str, Any] = {"name": name, "params": clean}
        when = parse_time(event.get("timestamp"))
        if when is not None:
            out["timestamp_micros"] = int(when.timestamp() * 1_000_000)
        return out

    def build_requests(self, events: list[dict]) -> tuple[list[Request], dict[int, str]]:
        url = self.request_url()
        groups: dict[tuple[str, str | None], list[int]] = {}
        refused: dict[int, str] = {}
        for i, e in enumerate(events):
            client_id = e.get("anonymousId") or e.get("userId")
            if not client_id:
                refused[i] = "no anonymousId or userId to use as the GA4 client_id"
                continue
            groups.setdefault((str(client_id), e.get("userId")), []).append(i)
        requests = []
        for (client_id, user_id), idx in groups.items():
            for part in chunks(idx, self.batch_size):
                body: dict[str, Any] = {"client_id": client_id}
                if user_id is not None:
                    body["user_id"] = str(user_id)
                body["events"] = [self.to_ga4(events[i]) for i in part]
                requests.append(Request(url, dumps(body), part))
        return requests, refused
