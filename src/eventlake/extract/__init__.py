"""Extractors: pull metadata snapshots out of the systems being measured into files
that a source then loads (`extract quicksight` -> `ingest bi-metadata`).
EXTRACTORS lists every built-in extractor once."""

EXTRACTORS: dict[str, str] = {
    "quicksight": "eventlake.extract.quicksight",
}
