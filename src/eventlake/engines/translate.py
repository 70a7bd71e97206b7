"""DuckDB SQL to Spark SQL: the one place that knows how the two dialects differ.

Insights and `eventlake sql` queries are written once, in DuckDB's dialect. For the Spark
engine, sqlglot parses them (read="duckdb") and writes Spark SQL (write="spark"); sqlglot
already handles most of the distance (QUALIFY, `->>`/`json_extract_string`, FILTER,
ILIKE, casts to TIMESTAMPTZ, string_split, regexp_extract groups, NULLS LAST, list
functions, `$name` placeholders to `:name` markers, ...). The rules in `RULES` below are
AST transforms for what it leaves DuckDB-specific or gets semantically wrong; each says
what it fixes. They run bottom-up, so a rule sees its arguments already translated.

Parameters stay parameters: `$name` becomes the Spark marker `:name` and the engine binds
the value (`spark.sql(sql, args=...)`); a value never becomes SQL text.

Known limits (raise QueryError or differ, documented so nobody trips on them):
- `len()` of a list: DuckDB's `len` is sqlglot's LENGTH, which Spark applies to strings
  only; write `array_length(list)` for lists.
- `list()`/`array_agg()` drop NULL elements on Spark (collect_list); DuckDB keeps them.
- `epoch_ms(x)` is read as "milliseconds to timestamp" (its BIGINT form).
- `date - date`, `date ± interval` and `date_trunc(part, date)` get DuckDB's result types
  only when the date is visible (a CAST to DATE, a DATE literal, current_date); otherwise
  Spark's types apply (an interval, a date). Comparisons are unaffected.
See docs/engines.md for the list of rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, SqlglotError

from ..errors import QueryError

READ = "duckdb"
WRITE = "spark"
LAKE_CATALOG = "lake"


@dataclass(frozen=True)
class Translation:
    """A query in Spark SQL and the named parameters it expects, in order of first use."""

    sql: str
    parameters: tuple[str, ...]


def to_spark(sql: str) -> str:
    """The Spark SQL for one DuckDB-dialect query; QueryError when it has no translation."""
    return translate(sql).sql


def translate(sql: str, schema: str = "main") -> Translation:
    """Translate one DuckDB-dialect query to Spark SQL and list its named parameters.
    `schema`: the lake schema the engine's views were built from (a bridge tenant's,
    or `main`); `lake.<schema>.t` names the view `t` like `lake.main.t` does."""
    tree = _parse(sql)
    if schema != "main":
        for table in tree.find_all(exp.Table):
            if table.catalog.lower() == LAKE_CATALOG and table.db == schema:
                table.set("db", exp.to_identifier("main"))
    for placeholder in tree.find_all(exp.Placeholder):
        name = placeholder.this if isinstance(placeholder.this, str) else ""
        if not name or name.isdigit():
            shown = f"${name}" if name else "?"
            raise QueryError(f"positional parameter {shown} cannot be bound on Spark: use named parameters ($name)")
    tree = _apply_rules(tree)
    try:
        out = tree.sql(dialect=WRITE, unsupported_level=ErrorLevel.RAISE)
    except SqlglotError as exc:
        raise QueryError(f"cannot translate the query to Spark SQL: {_first_line(exc)}") from None
    names: list[str] = []
    for placeholder in tree.find_all(exp.Placeholder):
        if placeholder.name not in names:
            names.append(placeholder.name)
    return Translation(out, tuple(names))


def _parse(sql: str) -> exp.Expression:
    try:
        statements = [s for s in sqlglot.parse(sql, read=READ) if s is not None]
    except ParseError as exc:
        raise QueryError(f"cannot parse the query as DuckDB SQL: {_first_line(exc)}") from None
    if len(statements) != 1:
        raise QueryError(f"expected exactly one SQL statement, got {len(statements)}")
    tree = statements[0]
    if not isinstance(tree, exp.Query):
        raise QueryError(f"the spark engine runs queries (SELECT ...) only, not {tree.key.upper()} statements")
    return tree


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _apply_rules(tree: exp.Expression) -> exp.Expression:
    """Every rule on every node, children before parents."""

    def visit(node: exp.Expression) -> exp.Expression:
        for child in list(node.iter_expressions()):
            visit(child)
        parent, key, index = node.parent, node.arg_key, node.index  # before a rule wraps node
        new = node
        for rule in RULES:
            new = rule(new)
        if new is not node and parent is not None:
            parent.set(key, new, index)
        return new

    return visit(tree)


# -- helpers -------------------------------------------------------------------------


def _fn(name: str, *args: exp.Expression) -> exp.Anonymous:
    """A Spark function call NAME(args) that sqlglot writes as is."""
    return exp.Anonymous(this=name, expressions=list(args))


def _int(value: int) -> exp.Literal:
    return exp.Literal.number(value)


def _str(value: str) -> exp.Literal:
    return exp.Literal.string(value)


def _cast(node: exp.Expression, to: str) -> exp.Cast:
    return exp.Cast(this=node, to=exp.DataType.build(to, dialect=WRITE))


def _interval(unit: str) -> exp.Interval:
    return exp.Interval(this=_str("1"), unit=exp.Var(this=unit))


def _literal_text(node: exp.Expression | None) -> str | None:
    return node.this if isinstance(node, exp.Literal) and node.is_string else None


# DuckDB date-part specifiers (with their aliases) -> one canonical name.
_PARTS = {
    **dict.fromkeys(("year", "years", "y", "yr", "yrs"), "YEAR"),
    **dict.fromkeys(("quarter", "quarters"), "QUARTER"),
    **dict.fromkeys(("month", "months", "mon", "mons"), "MONTH"),
    **dict.fromkeys(("week", "weeks", "w", "weekofyear"), "WEEK"),
    **dict.fromkeys(("day", "days", "d", "dayofmonth"), "DAY"),
    **dict.fromkeys(("hour", "hours", "h", "hr", "hrs"), "HOUR"),
    **dict.fromkeys(("minute", "minutes", "m", "min", "mins"), "MINUTE"),
    **dict.fromkeys(("second", "seconds", "s", "sec", "secs"), "SECOND"),
    **dict.fromkeys(("millisecond", "milliseconds", "ms", "msec", "msecs"), "MILLISECOND"),
    **dict.fromkeys(("microsecond", "microseconds", "us", "usec", "usecs"), "MICROSECOND"),
    **dict.fromkeys(("dow", "dayofweek", "weekday"), "DOW"),
    **dict.fromkeys(("isodow",), "ISODOW"),
    **dict.fromkeys(("doy", "dayofyear"), "DOY"),
    **dict.fromkeys(("epoch",), "EPOCH"),
    **dict.fromkeys(("isoyear",), "ISOYEAR"),
}


def _part(node: exp.Expression | None, where: str) -> str:
    """The canonical date part named by a Var or string literal."""
    text = node.name if node is not None else ""
    part = _PARTS.get(text.lower())
    if part is None:
        raise QueryError(f"{where}: unknown or unsupported date part {text!r}")
    return part


def _is_date(node: exp.Expression) -> bool:
    """Visibly a DATE: a cast to DATE (DATE literals parse as one) or current_date."""
    if isinstance(node, exp.Paren):
        return _is_date(node.this)
    if isinstance(node, exp.Cast) and node.to.is_type(exp.DataType.Type.DATE):
        return True
    return isinstance(node, exp.CurrentDate)


def _is_interval(node: exp.Expression) -> bool:
    if isinstance(node, exp.Paren):
        return _is_interval(node.this)
    if isinstance(node, exp.Interval):
        return True
    return isinstance(node, exp.Mul) and (isinstance(node.this, exp.Interval) or isinstance(node.expression, exp.Interval))


# -- rules -----------------------------------------------------------------------------


def lake_tables_unqualified(node: exp.Expression) -> exp.Expression:
    """`lake.t`, `lake.main.t`, `main.t` name the lake's table `t`, a Spark temp view."""
    if isinstance(node, exp.Table) and isinstance(node.this, exp.Identifier):
        catalog, db = node.catalog, node.db
        if catalog.lower() == LAKE_CATALOG and db.lower() in ("", "main"):
            node.set("catalog", None)
            node.set("db", None)
        elif not catalog and db.lower() in (LAKE_CATALOG, "main"):
            node.set("db", None)
    return node


def date_diff_boundaries(node: exp.Expression) -> exp.Expression:
    """DuckDB `date_diff(part, a, b)` counts part boundaries crossed (23:00 to 01:00 next
    day is 1 day); Spark's DATEDIFF/TIMESTAMPDIFF count whole parts elapsed (0). Truncate
    both ends to the part first; days via DATEDIFF of dates; weeks as DuckDB does: whole
    7-day spans between the dates."""
    if not isinstance(node, exp.DateDiff) or node.args.get("unit") is None:
        return node
    part = _part(node.args["unit"], "date_diff")
    end, start = node.this, node.expression
    if part == "DAY":
        return _fn("DATEDIFF", _cast(end, "DATE"), _cast(start, "DATE"))
    if part == "WEEK":
        return exp.IntDiv(this=_fn("DATEDIFF", _cast(end, "DATE"), _cast(start, "DATE")), expression=_int(7))
    if part == "MICROSECOND":
        return _fn("TIMESTAMPDIFF", exp.Var(this=part), start, end)
    if part not in ("YEAR", "QUARTER", "MONTH", "HOUR", "MINUTE", "SECOND", "MILLISECOND"):
        raise QueryError(f"date_diff: part {part.lower()!r} has no Spark equivalent")
    trunc = lambda x: _fn("DATE_TRUNC", _str(part), x)  # noqa: E731
    return _fn("TIMESTAMPDIFF", exp.Var(this=part), trunc(start), trunc(end))


def date_sub_elapsed(node: exp.Expression) -> exp.Expression:
    """DuckDB `date_sub(part, a, b)` counts whole parts elapsed: Spark TIMESTAMPDIFF."""
    if isinstance(node, exp.Anonymous) and node.name.lower() in ("date_sub", "datesub") and len(node.expressions) == 3:
        part = _part(node.expressions[0], "date_sub")
        if part in ("DOW", "ISODOW", "DOY", "EPOCH", "ISOYEAR"):
            raise QueryError(f"date_sub: part {part.lower()!r} has no Spark equivalent")
        return _fn("TIMESTAMPDIFF", exp.Var(this=part), node.expressions[1], node.expressions[2])
    return node


def _epoch_seconds(value: exp.Expression) -> exp.Expression:
    """Seconds since the epoch as DOUBLE, like DuckDB's epoch(); a difference of two
    timestamps (an interval in DuckDB) gives its length in seconds."""
    inner = value.this if isinstance(value, exp.Paren) else value
    if isinstance(inner, exp.Sub) and not _is_interval(inner.expression):
        micros = exp.Sub(
            this=_fn("UNIX_MICROS", _cast(inner.this, "TIMESTAMP")),
            expression=_fn("UNIX_MICROS", _cast(inner.expression, "TIMESTAMP")),
        )
        return exp.Div(this=exp.Paren(this=micros), expression=_int(1000000))
    return exp.Div(this=_fn("UNIX_MICROS", _cast(value, "TIMESTAMP")), expression=_int(1000000))


def _extract(part: str, value: exp.Expression) -> exp.Expression:
    if part == "DOW":  # DuckDB: Sunday = 0 .. Saturday = 6; Spark DAYOFWEEK: Sunday = 1
        return exp.Paren(this=exp.Sub(this=_fn("DAYOFWEEK", value), expression=_int(1)))
    if part == "ISODOW":  # Monday = 1 .. Sunday = 7; Spark WEEKDAY: Monday = 0
        return exp.Paren(this=exp.Add(this=_fn("WEEKDAY", value), expression=_int(1)))
    if part == "EPOCH":
        return _epoch_seconds(value)
    if part == "SECOND":  # DuckDB: whole seconds; Spark EXTRACT(SECOND): decimal with fraction
        return _fn("SECOND", value)
    if part == "MILLISECOND":  # DuckDB: seconds * 1000 + milliseconds
        return _cast(exp.Mul(this=exp.Extract(this=exp.Var(this="SECOND"), expression=value), expression=_int(1000)), "INT")
    if part == "MICROSECOND":
        return _cast(exp.Mul(this=exp.Extract(this=exp.Var(this="SECOND"), expression=value), expression=_int(1000000)), "INT")
    if part == "ISOYEAR":
        return exp.Extract(this=exp.Var(this="YEAROFWEEK"), expression=value)
    return exp.Extract(this=exp.Var(this=part), expression=value)


def date_parts(node: exp.Expression) -> exp.Expression:
    """EXTRACT/date_part/dayofweek with DuckDB's numbering: dow 0-6 from Sunday, isodow
    1-7 from Monday, epoch in fractional seconds, second without the fraction."""
    if isinstance(node, exp.Extract):
        return _extract(_part(node.this, "extract"), node.expression)
    if isinstance(node, exp.Anonymous) and node.name.lower() in ("date_part", "datepart") and len(node.expressions) == 2:
        if not isinstance(node.expressions[0], exp.Literal):
            raise QueryError("date_part: the part must be a single literal like 'year' on Spark")
        return _extract(_part(node.expressions[0], "date_part"), node.expressions[1])
    if isinstance(node, exp.DayOfWeek):
        return _extract("DOW", node.this)
    if isinstance(node, exp.DayOfWeekIso):
        return _extract("ISODOW", node.this)
    if isinstance(node, exp.TimeToUnix):
        return _epoch_seconds(node.this)
    if isinstance(node, exp.Dayname):
        return _fn("DATE_FORMAT", node.this, _str("EEEE"))
    if isinstance(node, exp.Monthname):
        return _fn("DATE_FORMAT", node.this, _str("MMMM"))
    return node


_JSON_EXTRACTS = (exp.JSONExtract, exp.JSONExtractScalar)
_JSON_LIST_PATHS = (
    exp.JSONPathWildcard, exp.JSONPathSlice, exp.JSONPathFilter, exp.JSONPathRecursive, exp.JSONPathUnion, exp.JSONPathScript,
)


def _json_path_check(node: exp.Expression, fn: str) -> None:
    path = node.expression
    if isinstance(path, exp.JSONPath):
        if path.find(*_JSON_LIST_PATHS):
            raise QueryError(f"{fn}: a JSON path with wildcards, slices or filters returns a list in DuckDB; no Spark equivalent")
        return
    if isinstance(path, exp.Array):
        raise QueryError(f"{fn}: a list of JSON paths returns a list in DuckDB and has no Spark equivalent")
    text = _literal_text(path)
    if text is not None and text.startswith("/"):
        raise QueryError(f"{fn}: JSON pointer paths ({text!r}) are not supported on Spark; write '$.a.b'")


def json_extract(node: exp.Expression) -> exp.Expression:
    """JSON access. `->>`/json_extract_string become GET_JSON_OBJECT (sqlglot); a chain
    `j->'a'->>'b'` is merged into one path; `->`/json_extract keep DuckDB's JSON result
    (a string value stays quoted) via TO_JSON(VARIANT_GET(PARSE_JSON(j), path, 'variant'))."""
    if not isinstance(node, _JSON_EXTRACTS):
        return node
    fn = "json_extract_string" if isinstance(node, exp.JSONExtractScalar) else "json_extract"
    _json_path_check(node, fn)
    inner, path = node.this, node.expression
    if isinstance(inner, exp.JSONExtract) and isinstance(inner.expression, exp.JSONPath) and isinstance(path, exp.JSONPath):
        parts = [p.copy() for p in inner.expression.expressions]
        parts += [p.copy() for p in path.expressions if not isinstance(p, exp.JSONPathRoot)]
        node.set("this", inner.this)
        node.set("expression", exp.JSONPath(expressions=parts))
    if isinstance(node, exp.JSONExtract):
        parent = node.parent
        if isinstance(parent, _JSON_EXTRACTS) and node.arg_key == "this":
            return node  # the parent merges this path into its own
        return _fn("TO_JSON", _fn("VARIANT_GET", _fn("PARSE_JSON", node.this), node.expression, _str("variant")))
    return node


def json_casts(node: exp.Expression) -> exp.Expression:
    """Spark has no JSON type: JSON is text, so `x::JSON` of text is just `x`."""
    if isinstance(node, (exp.Cast, exp.TryCast)) and node.to.is_type(exp.DataType.Type.JSON):
        value = node.this
        if isinstance(value, (exp.Struct, exp.Array, exp.Map, exp.VarMap, exp.ArrayAgg)):
            return _fn("TO_JSON", value)
        return value
    return node


# DuckDB types Spark lacks -> the Spark type that holds their values.
_TYPES = {
    exp.DataType.Type.INT128: "DECIMAL(38, 0)",
    exp.DataType.Type.UINT128: "DECIMAL(38, 0)",
    exp.DataType.Type.UBIGINT: "DECIMAL(20, 0)",
    exp.DataType.Type.UINT: "BIGINT",
    exp.DataType.Type.USMALLINT: "INT",
    exp.DataType.Type.UTINYINT: "SMALLINT",
    exp.DataType.Type.TIMESTAMP_S: "TIMESTAMP_NTZ",
    exp.DataType.Type.TIMESTAMP_MS: "TIMESTAMP_NTZ",
    exp.DataType.Type.TIMESTAMP_NS: "TIMESTAMP_NTZ",
}


def portable_types(node: exp.Expression) -> exp.Expression:
    """HUGEINT and unsigned integers as wide enough signed/decimal types, TIMESTAMP_S/MS/NS
    as TIMESTAMP_NTZ."""
    if isinstance(node, exp.DataType) and node.this in _TYPES:
        return exp.DataType.build(_TYPES[node.this], dialect=WRITE)
    return node


_TO_INTERVAL = {
    "to_years": "YEAR",
    "to_months": "MONTH",
    "to_weeks": "WEEK",
    "to_days": "DAY",
    "to_hours": "HOUR",
    "to_minutes": "MINUTE",
    "to_seconds": "SECOND",
    "to_milliseconds": "MILLISECOND",
    "to_microseconds": "MICROSECOND",
}


def computed_intervals(node: exp.Expression) -> exp.Expression:
    """`INTERVAL (n) DAY`, `INTERVAL $days DAY` and `to_days(n)`: Spark interval literals
    take constants only, so write `n * INTERVAL '1' DAY`."""
    if isinstance(node, exp.Interval) and node.this is not None and not isinstance(node.this, exp.Literal):
        unit = node.args.get("unit")
        if unit is None:
            raise QueryError(f"interval {node.sql(dialect=READ)}: a computed interval needs a unit, e.g. INTERVAL (n) DAY")
        value = node.this.this if isinstance(node.this, exp.Paren) else node.this
        return exp.Paren(this=exp.Mul(this=value, expression=_interval(_part(unit, "interval"))))
    if isinstance(node, exp.ToDays):
        return exp.Paren(this=exp.Mul(this=node.this, expression=_interval("DAY")))
    if isinstance(node, exp.Anonymous) and node.name.lower() in _TO_INTERVAL and len(node.expressions) == 1:
        return exp.Paren(this=exp.Mul(this=node.expressions[0], expression=_interval(_TO_INTERVAL[node.name.lower()])))
    return node


def date_add_interval(node: exp.Expression) -> exp.Expression:
    """DuckDB `date_add(x, INTERVAL ...)` is `x + INTERVAL ...`; Spark's DATE_ADD takes days."""
    if isinstance(node, exp.DateAdd) and node.args.get("unit") is None and _is_interval(node.expression):
        return exp.Add(this=node.this, expression=node.expression)
    return node


def date_arithmetic(node: exp.Expression) -> exp.Expression:
    """DuckDB types for arithmetic on visible dates: `date ± interval` is a TIMESTAMP (Spark
    keeps a DATE), `date - date` is a number of days (Spark: an interval) and date_trunc
    of a date is a TIMESTAMP without time zone (Spark: with)."""
    if isinstance(node, (exp.TimestampTrunc, exp.DateTrunc)) and _is_date(node.this):
        return _cast(node, "TIMESTAMP_NTZ")
    if isinstance(node, (exp.Add, exp.Sub)) and _is_date(node.this):
        if _is_interval(node.expression):
            node.set("this", _cast(node.this, "TIMESTAMP_NTZ"))
        elif isinstance(node, exp.Sub) and _is_date(node.expression):
            return _fn("DATEDIFF", node.this, node.expression)
    return node


def array_functions(node: exp.Expression) -> exp.Expression:
    """List functions Spark spells differently: list_has_any/`&&` -> ARRAYS_OVERLAP,
    list_extract(l, i) -> ELEMENT_AT (1-based, NULL when out of range), l[-1] -> ELEMENT_AT,
    l[a:b] -> SLICE, list_position -> ARRAY_POSITION (NULL when absent), count() -> COUNT(*)."""
    if isinstance(node, exp.ArrayOverlaps):
        return _fn("ARRAYS_OVERLAP", node.this, node.expression)
    if isinstance(node, exp.Anonymous):
        name = node.name.lower()
        if name in ("list_extract", "list_element", "array_extract") and len(node.expressions) == 2:
            return _fn("ELEMENT_AT", *node.expressions)
        if name in ("list_position", "list_indexof", "array_indexof") and len(node.expressions) == 2:
            return exp.Nullif(this=_fn("ARRAY_POSITION", *node.expressions), expression=_int(0))
        if name in ("list_slice",) and len(node.expressions) == 3:
            return _slice(node.expressions[0], node.expressions[1], node.expressions[2])
    if isinstance(node, exp.ArrayPosition):
        return exp.Nullif(this=_fn("ARRAY_POSITION", node.this, node.expression), expression=_int(0))
    if isinstance(node, exp.Bracket) and len(node.expressions) == 1:
        index = node.expressions[0]
        if isinstance(index, exp.Slice):
            return _slice(node.this, index.this, index.expression)
        if isinstance(index, exp.Neg) and isinstance(index.this, exp.Literal) and index.this.is_int:
            # sqlglot stores DuckDB's 1-based l[-1] 0-based, as -2; ELEMENT_AT counts -1 from the end
            return _fn("ELEMENT_AT", node.this, _int(-(int(index.this.this) - 1)))
    if isinstance(node, exp.Count) and node.this is None and not node.expressions:
        return exp.Count(this=exp.Star())
    return node


def _slice(array: exp.Expression, start: exp.Expression | None, end: exp.Expression | None) -> exp.Expression:
    """DuckDB's 1-based inclusive l[start:end] as Spark SLICE(l, start, length)."""
    start = start if start is not None else _int(1)
    if end is None:
        end = _fn("SIZE", array.copy())
    length = exp.Add(this=exp.Paren(this=exp.Sub(this=end, expression=start.copy())), expression=_int(1))
    return _fn("SLICE", array, start, length)


def ordered_lists(node: exp.Expression) -> exp.Expression:
    """`list(x ORDER BY k)`: Spark's COLLECT_LIST has no order, so collect (k, x) pairs,
    sort them and keep x (all keys ascending, or all descending)."""
    if not isinstance(node, exp.ArrayAgg) or not isinstance(node.this, exp.Order):
        return node
    order = node.this
    value, keys = order.this, order.expressions
    desc = {bool(k.args.get("desc")) for k in keys}
    if len(desc) != 1:
        raise QueryError("list(... ORDER BY ...) with mixed ASC/DESC keys has no Spark translation")
    if len(keys) == 1 and keys[0].this == value:
        return _fn("SORT_ARRAY", exp.ArrayAgg(this=value), exp.Boolean(this=not desc.pop()))
    fields = [exp.PropertyEQ(this=exp.to_identifier(f"k{i}"), expression=k.this) for i, k in enumerate(keys)]
    fields.append(exp.PropertyEQ(this=exp.to_identifier("v"), expression=value))
    pairs = _fn("SORT_ARRAY", exp.ArrayAgg(this=exp.Struct(expressions=fields)), exp.Boolean(this=not desc.pop()))
    lam = exp.Lambda(this=exp.Dot(this=exp.column("e"), expression=exp.to_identifier("v")), expressions=[exp.to_identifier("e")])
    return _fn("TRANSFORM", pairs, lam)


def quantiles(node: exp.Expression) -> exp.Expression:
    """quantile_cont(x, q) -> PERCENTILE(x, q); quantile_disc(x, q) ->
    PERCENTILE_DISC(q) WITHIN GROUP (ORDER BY x)."""
    if isinstance(node, exp.PercentileCont) and node.expression is not None:
        return _fn("PERCENTILE", node.this, node.expression)
    if isinstance(node, exp.PercentileDisc) and node.expression is not None:
        return exp.WithinGroup(
            this=_fn("PERCENTILE_DISC", node.expression),
            expression=exp.Order(expressions=[exp.Ordered(this=node.this, nulls_first=False)]),
        )
    return node


def like_backslash(node: exp.Expression) -> exp.Expression:
    """A backslash in a DuckDB LIKE pattern is an ordinary character; Spark's default LIKE
    escape is the backslash, so double it."""
    if isinstance(node, (exp.Like, exp.ILike)) and not isinstance(node.parent, exp.Escape):
        text = _literal_text(node.expression)
        if text is not None and "\\" in text:
            node.set("expression", _str(text.replace("\\", "\\\\")))
    return node


_BACKREF = re.compile(r"\\(\d)|\$")


def regexp_replace(node: exp.Expression) -> exp.Expression:
    r"""DuckDB regexp_replace replaces the first match unless options hold 'g', and writes
    back-references as \1; Spark replaces every match and writes $1. The first-match form
    becomes a replace-all of `^([\s\S]*?)(?:pattern)` keeping group 1 (the text before the
    first match; the pattern's own groups shift by one)."""
    if not isinstance(node, exp.RegexpReplace):
        return node
    options = _literal_text(node.args.get("modifiers")) or ""
    bad = set(options) - set("gcis")
    if bad:
        raise QueryError(f"regexp_replace: option(s) {''.join(sorted(bad))!r} have no Spark equivalent")
    pattern, replacement = node.expression, node.args.get("replacement")
    replace_all = "g" in options
    flags = "".join(f for f in "is" if f in options)
    repl_text, pattern_text = _literal_text(replacement), _literal_text(pattern)
    if repl_text is None or (pattern_text is None and not replace_all):
        raise QueryError("regexp_replace: on Spark the replacement (and, without the 'g' option, the pattern) must be a literal")
    shift = 0 if replace_all else 1

    def backref(m: re.Match) -> str:
        return "\\$" if m.group(0) == "$" else f"${int(m.group(1)) + shift}"

    new_repl = ("" if replace_all else "$1") + _BACKREF.sub(backref, repl_text)
    if replace_all:
        new_pattern = _prefix(flags, pattern) if flags else pattern
    else:
        new_pattern = _str(f"{_flags(flags)}^([\\s\\S]*?)(?:{pattern_text})")
    return _fn("REGEXP_REPLACE", node.this, new_pattern, _str(new_repl))


def _flags(flags: str) -> str:
    return f"(?{flags})" if flags else ""


def _prefix(flags: str, pattern: exp.Expression) -> exp.Expression:
    text = _literal_text(pattern)
    if text is not None:
        return _str(_flags(flags) + text)
    return exp.DPipe(this=_str(_flags(flags)), expression=pattern)


# strftime/strptime specifiers -> Java DateTimeFormatter letters (Spark's patterns).
_STRFTIME = {
    "Y": "yyyy", "y": "yy", "m": "MM", "-m": "M", "d": "dd", "-d": "d", "H": "HH", "-H": "H",
    "I": "hh", "-I": "h", "M": "mm", "-M": "m", "S": "ss", "-S": "s", "f": "SSSSSS",
    "g": "SSS", "n": "SSSSSSSSS", "p": "a", "A": "EEEE", "a": "EEE", "B": "MMMM", "b": "MMM",
    "h": "MMM", "j": "DDD", "-j": "D", "z": "xx", "Z": "z", "G": "yyyy", "V": "ww",
}
_SPEC = re.compile(r"%(-?[A-Za-z%])")


def _java_pattern(fmt: str, where: str) -> str:
    out: list[str] = []
    literal: list[str] = []

    def flush() -> None:
        if literal:
            text = "".join(literal).replace("'", "''")
            out.append(text if re.fullmatch(r"[\s\-:/.,]+", text) else f"'{text}'")
            literal.clear()

    pos = 0
    for m in _SPEC.finditer(fmt):
        literal.extend(fmt[pos : m.start()])
        pos = m.end()
        spec = m.group(1)
        if spec == "%":
            literal.append("%")
            continue
        if spec not in _STRFTIME or spec in ("G", "V"):
            raise QueryError(f"{where}: format specifier %{spec} has no Spark equivalent")
        flush()
        out.append(_STRFTIME[spec])
    literal.extend(fmt[pos:])
    flush()
    return "".join(out)


def datetime_formats(node: exp.Expression) -> exp.Expression:
    """strftime/strptime formats as Spark datetime patterns, literal text quoted
    (sqlglot leaves a 'T' between date and time unquoted, which Spark rejects)."""
    if isinstance(node, exp.TimeToStr):
        fmt = _literal_text(node.args.get("format"))
        if fmt is None:
            raise QueryError("strftime: the format must be a literal on Spark")
        return _fn("DATE_FORMAT", node.this, _str(_java_pattern(fmt, "strftime")))
    if isinstance(node, exp.StrToTime):
        fmt = _literal_text(node.args.get("format"))
        if fmt is None:
            raise QueryError("strptime: the format must be a literal on Spark")
        fn = "TO_TIMESTAMP" if "%z" in fmt or "%Z" in fmt else "TO_TIMESTAMP_NTZ"
        return _fn(fn, node.this, _str(_java_pattern(fmt, "strptime")))
    return node


def union_by_name(node: exp.Expression) -> exp.Expression:
    """UNION BY NAME has no Spark SQL form."""
    if isinstance(node, exp.SetOperation) and node.args.get("by_name"):
        raise QueryError("UNION BY NAME has no Spark SQL equivalent: list the same columns in the same order in each branch")
    return node


# Every rule, in the order they run on each node.
RULES: tuple[Callable[[exp.Expression], exp.Expression], ...] = (
    lake_tables_unqualified,
    union_by_name,
    portable_types,
    json_casts,
    json_extract,
    computed_intervals,
    date_add_interval,
    date_diff_boundaries,
    date_sub_elapsed,
    date_parts,
    date_arithmetic,
    datetime_formats,
    array_functions,
    ordered_lists,
    quantiles,
    like_backslash,
    regexp_replace,
)
