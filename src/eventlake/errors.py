"""Errors raised by eventlake. Every error a user can cause is an EventlakeError
subclass whose message names the thing (file, table, parameter) and what is wrong;
the CLI prints it without a traceback."""

from __future__ import annotations


class EventlakeError(Exception):
    """Base class of all errors eventlake raises on purpose."""


class ConfigError(EventlakeError):
    """The configuration (eventlake.toml, environment, options) is invalid."""


class LakeError(EventlakeError):
    """The lake cannot be opened or a table operation failed."""


class QueryError(EventlakeError):
    """A SQL query failed to parse, translate or run."""


class EngineUnavailable(EventlakeError):
    """The requested engine is not installed or cannot start."""


class SourceError(EventlakeError):
    """A source location cannot be listed or read."""


class InsightError(EventlakeError):
    """An insight is unknown or was given invalid parameters."""


class RecordError(EventlakeError):
    """One input record is unusable; it is quarantined, never fatal."""

    def __init__(self, source_object: str, position: str, reason: str):
        super().__init__(f"{source_object} at {position}: {reason}")
        self.source_object = source_object
        self.position = position
        self.reason = reason


def cap_messages(messages: list[str], limit: int = 10) -> list[str]:
    """Shorten a long list of messages: the first `limit`, then '... and N more'."""
    if len(messages) <= limit:
        return list(messages)
    return list(messages[:limit]) + [f"... and {len(messages) - limit} more"]
