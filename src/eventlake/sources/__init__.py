"""Sources: one module per kind of input, on the shared machinery in base.py and
stores.py. SOURCES lists every built-in source once."""

SOURCES: dict[str, str] = {
    "cloudtrail": "eventlake.sources.cloudtrail",
    "bi-metadata": "eventlake.sources.bi_metadata",
}
