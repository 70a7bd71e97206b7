"""The event collector: a Segment-spec HTTP API and a cookieless page-view snippet,
raw first with a durable acknowledgement, then loaded into the lake.

    request ──► app.py (auth by write key, size limits, JSON and field checks,
                allowlists + sanitizer (privacy.py), country/device/browser/OS derived
                at receipt, IP dropped unless the source opts in)
            ──► rawlog.py  RawLog.append(records): one JSON line per accepted event,
                group commit: one write + fsync for everything waiting, then every
                waiting request is acknowledged (200). Full queue or disk: Backpressure,
                the app answers 503 with Retry-After.
            ──► loader.py  sealed segments ──► lake tables raw_events (as received) and
                events (normalized, one row per messageId), one commit per segment,
                recorded in ingested_objects (source "collector"): a crash or kill -9
                at any point loses no acknowledged event and loads nothing twice.
                The events of a source tied to a tenant go to the tenant's storage.
            ──► destinations (eventlake.destinations): forwarded asynchronously,
                outcomes in the deliveries table.

A raw record (one line of a segment, UTF-8 JSON, no newline inside):

    {"received_at": "2026-11-26T09:00:00.123456Z",   # receipt time, UTC
     "source": "web",                                 # collector_sources.name
     "key_id": "k_3f9a...",                           # public id of the write key
     "type": "track",                                 # track|page|screen|identify|group|alias
     "message_id": "...",                             # the event's messageId (generated if absent)
     "payload": {...},                                # the event as received, after allowlist + sanitizer
     "request": {"endpoint": "/v1/batch", "bytes": 1234, "user_agent": "...",
                 "country": "DE", "device_type": "desktop", "browser": "Firefox",
                 "os": "Linux", "ip": null, "site_host": null},
     "tenant": "acme"}                                # only for a source tied to a tenant
"""
