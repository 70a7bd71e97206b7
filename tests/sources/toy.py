"""A minimal line-log type for testing the shared machinery (ingest, reparse, check)
without depending on any one AWS format: `<ISO timestamp> <integer>` per line, '#'
comments, and files that may start with a `fields: ...` header line."""

from __future__ import annotations

from eventlake.sources.logtypes import FileFormat, LineLog, Rule, table_def


class Toy(LineLog):
    name = "toy"
    table = table_def("toy_logs", "test log type", [("ts", "TIMESTAMPTZ"), ("value", "INTEGER")])
    comment_prefix = "#"
    strict_values = True  # reparse test: False accepts 'x' as value NULL
    rules = (
        Rule("value_not_negative", "value is 0 or more", "value < 0"),
        Rule("not_in_future", "ts is not after 2030", "ts >= TIMESTAMPTZ '2030-01-01 00:00:00+00'"),
    )

    def detect_format(self, head):
        return FileFormat(header_lines=1) if head and head[0].startswith("fields:") else FileFormat()

    def parse_sql(self, fmt):
        bad_value = "v IS NULL" if self.strict_values else "v IS NULL AND p[2] <> 'x'"
        return f"""
        SELECT source_object, line_no, line, CAST(ts AS DATE) AS event_date, ts, v AS value,
          CASE WHEN ts IS NULL THEN 'ts ' || coalesce(p[1], '') || ' is not a timestamp'
               WHEN {bad_value} THEN 'value ' || coalesce(p[2], 'missing') || ' is not an integer' END AS reason
        FROM (SELECT *, TRY_CAST(p[1] AS TIMESTAMPTZ) AS ts, TRY_CAST(p[2] AS INTEGER) AS v
              FROM (SELECT *, string_split(line, ' ') AS p FROM lines))"""
