"""The insight registry: every `*.sql` file in this package is one insight.

An insight file opens with a comment header that holds its metadata beside the SQL:

    -- name: idle_authors
    -- description: Authors with no login, view or edit in the last N days.
    -- param: idle_days int 60 Days without activity that make an author idle
    -- param: as_of date today Day the window ends (inclusive)

`param:` reads `NAME TYPE DEFAULT DESCRIPTION`. TYPE is one of int, date, str, bool.
DEFAULT `today` (dates) is the current UTC date; DEFAULT `required` means the caller
must give a value. Other comment lines in the header are documentation. The SQL that
follows is DuckDB dialect, reads lake tables by plain name and uses the parameters as
`$name` placeholders, which the engine binds: values never become SQL text.

A new insight is a new `.sql` file; nothing else needs to change.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from ..errors import InsightError

if TYPE_CHECKING:
    from ..engines import Engine

PARAM_TYPES = ("int", "date", "timestamp", "str", "bool")
REQUIRED = "required"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_CATEGORY = re.compile(r"^[a-z][a-z0-9-]*$")
_META = re.compile(r"^--\s*(name|description|param|category):\s*(.*?)\s*$")
_PLACEHOLDER = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


@dataclass(frozen=True)
class Param:
    """One insight parameter: its name, type, default (None when required) and meaning."""

    name: str
    type: str
    default: str | None
    description: str

    @property
    def required(self) -> bool:
        return self.default is None

    def convert(self, value: Any, insight: str) -> Any:
        """`value` (text, or already the right Python type) as this parameter's type."""
        if isinstance(value, str):
            return _convert_text(value, self.type, f"parameter {self.name!r} of insight {insight!r}")
        ok = {
            "int": isinstance(value, int) and not isinstance(value, bool),
            "date": isinstance(value, dt.date) and not isinstance(value, dt.datetime),
            "timestamp": isinstance(value, dt.datetime),
            "bool": isinstance(value, bool),
            "str": False,
        }[self.type]
        if not ok:
            raise InsightError(f"parameter {self.name!r} of insight {insight!r} must be {_TYPE_WORDS[self.type]}, got {value!r}")
        if self.type == "timestamp":
            return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)
        if self.type == "int" and value < 0:
            raise InsightError(f"parameter {self.name!r} of insight {insight!r} must not be negative, got {value!r}")
        return value

    def describe(self) -> str:
        """`name type = default` as printed by `eventlake insights list`."""
        return f"{self.name} {self.type} " + ("(required)" if self.required else f"= {self.default}")


@dataclass(frozen=True)
class Insight:
    """A named, parameterized SQL query over the lake's tables."""

    name: str
    description: str
    params: list[Param]
    sql: str
    path: Path | None = None
    header: str = field(default="", repr=False)
    category: str = "general"  # e.g. bi, cloudtrail, s3-access: what `insights list --category` filters on

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def bind(self, values: dict[str, Any] | None = None, as_of: dt.date | None = None) -> dict[str, object]:
        """Typed values for every parameter: given values converted, defaults applied.

        `as_of` sets the `as_of` parameter when the insight has one (and is ignored
        otherwise). Unknown names, bad values and missing required values raise
        InsightError naming the parameter and the value."""
        values = dict(values or {})
        unknown = sorted(k for k in values if self.param(k) is None)
        if unknown:
            known = ", ".join(p.name for p in self.params) or "none"
            raise InsightError(f"insight {self.name!r} has no parameter {', '.join(map(repr, unknown))}; its parameters are: {known}")
        if as_of is not None and self.param("as_of") is not None:
            if not isinstance(as_of, dt.date) or isinstance(as_of, dt.datetime):
                raise InsightError(f"as_of must be a date, got {as_of!r}")
            given = values.get("as_of")
            if given is not None and self.param("as_of").convert(given, self.name) != as_of:
                raise InsightError(f"insight {self.name!r}: --as-of {as_of.isoformat()} contradicts parameter as_of={given}")
            values["as_of"] = as_of
        bound: dict[str, object] = {}
        for p in self.params:
            if p.name in values:
                bound[p.name] = p.convert(values[p.name], self.name)
            elif p.required:
                raise InsightError(f"insight {self.name!r} needs parameter {p.name!r} ({p.description}): give --param {p.name}=VALUE")
            else:
                bound[p.name] = p.convert(p.default, self.name)
        return bound

    def run(self, engine: "Engine", values: dict[str, Any] | None = None, as_of: dt.date | None = None) -> pa.Table:
        """Bind the parameters and run the SQL on `engine`."""
        return engine.query(self.sql, self.bind(values, as_of))

    @property
    def text(self) -> str:
        """The whole file: header and SQL."""
        return self.header + self.sql


_TYPE_WORDS = {
    "int": "a non-negative integer",
    "date": "a date (YYYY-MM-DD or today)",
    "timestamp": "a UTC timestamp (YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM], YYYY-MM-DD, now, or now-N[m|h|d|w])",
    "str": "text",
    "bool": "true or false",
}


def _convert_text(text: str, type_: str, what: str) -> Any:
    value = text.strip()
    if type_ == "str":
        return text
    if type_ == "int":
        if not re.fullmatch(r"\+?[0-9]+", value):
            raise InsightError(f"{what} must be {_TYPE_WORDS['int']}, got {text!r}")
        return int(value)
    if type_ == "date":
        return parse_date(value, what)
    if type_ == "timestamp":
        return parse_timestamp(value, what)
    if type_ == "bool":
        low = value.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise InsightError(f"{what} must be {_TYPE_WORDS['bool']}, got {text!r}")
    raise InsightError(f"{what} has unknown type {type_!r}")


def parse_date(text: str, what: str = "date") -> dt.date:
    """A date from `YYYY-MM-DD` or `today` (the current UTC date)."""
    value = text.strip()
    if value.lower() == "today":
        return dt.datetime.now(dt.timezone.utc).date()
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InsightError(f"{what} must be {_TYPE_WORDS['date']}, got {text!r}") from None


def parse_timestamp(text: str, what: str = "timestamp") -> dt.datetime:
    """An aware UTC datetime from ISO 8601 (`2024-03-01T10:00`, `...Z`, `...+02:00`,
    a bare date meaning its midnight), `now`, or `now-N` minutes/hours/days/weeks
    (`now-90m`, `now-3h`, `now-7d`, `now-2w`). A time without an offset is UTC."""
    value = text.strip()
    rel = re.fullmatch(r"now(?:\s*-\s*([0-9]+)\s*([mhdw]))?", value.lower())
    if rel:
        now = dt.datetime.now(dt.timezone.utc)
        if rel.group(1) is None:
            return now
        unit = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[rel.group(2)]
        return now - dt.timedelta(**{unit: int(rel.group(1))})
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        value += "T00:00:00"
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:?[0-9]{2})?", value):
            raise ValueError
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InsightError(f"{what} must be {_TYPE_WORDS['timestamp']}, got {text!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.astimezone(dt.timezone.utc)


# -- loading ---------------------------------------------------------------------


@dataclass(frozen=True)
class Fragment:
    """A piece of SQL several insights share (`fragments/<name>.sql`): CTE definitions
    an insight pulls in with `{{name}}`, with the parameters they use (declared in the
    fragment's header, added to every insight that uses it) and their documentation."""

    name: str
    params: list[Param]
    sql: str
    header: str


_FRAGMENT_REF = re.compile(r"\{\{\s*([a-z][a-z0-9_]*)\s*\}\}")


def parse_fragment(text: str, source: str) -> Fragment:
    lines = text.splitlines(keepends=True)
    n = 0
    for n, line in enumerate(lines):
        if line.strip() and not line.strip().startswith("--"):
            break
    else:
        n = len(lines)
    header, sql = "".join(lines[:n]), "".join(lines[n:]).strip()
    name = next((m.group(1) for ln in lines[:n] if (m := re.match(r"^--\s*fragment:\s*([a-z][a-z0-9_]*)\s*$", ln.strip()))), None)
    if name is None:
        raise InsightError(f"{source}: the header needs a '-- fragment: <lowercase_name>' line")
    params = [_parse_param(m.group(2), source) for ln in lines[:n] if (m := _META.match(ln.strip())) and m.group(1) == "param"]
    if not sql:
        raise InsightError(f"{source}: no SQL after the header")
    return Fragment(name, params, sql, header)


def _expand(sql: str, fragments: dict[str, Fragment], source: str) -> tuple[str, list[Fragment]]:
    """The SQL with every {{fragment}} replaced, and the fragments used (in order)."""
    used: list[Fragment] = []

    def sub(m: re.Match) -> str:
        frag = fragments.get(m.group(1))
        if frag is None:
            raise InsightError(f"{source}: unknown fragment {{{{{m.group(1)}}}}}; known: {', '.join(sorted(fragments)) or 'none'}")
        if frag not in used:
            used.append(frag)
        return frag.sql

    return _FRAGMENT_REF.sub(sub, sql), used


def parse_insight(text: str, source: str, path: Path | None = None, fragments: dict[str, Fragment] | None = None) -> Insight:
    """An Insight from the text of a `.sql` file; `source` names it in errors. `{{name}}`
    in the SQL pulls in a shared fragment and its parameters."""
    lines = text.splitlines(keepends=True)
    meta: dict[str, list[str]] = {"name": [], "description": [], "param": [], "category": []}
    n = 0
    for n, line in enumerate(lines):  # the header: leading comment and blank lines
        stripped = line.strip()
        if stripped and not stripped.startswith("--"):
            break
        m = _META.match(stripped)
        if m:
            meta[m.group(1)].append(m.group(2))
    else:
        n = len(lines)
    header, sql = "".join(lines[:n]), "".join(lines[n:]).strip() + "\n"
    sql, used_fragments = _expand(sql, fragments or {}, source)
    if len(meta["name"]) != 1 or not _NAME.match(meta["name"][0]):
        raise InsightError(f"{source}: the header needs exactly one '-- name: <lowercase_name>' line")
    name = meta["name"][0]
    if path is not None and path.stem != name:
        raise InsightError(f"{source}: file name must match the insight name {name!r}")
    description = " ".join(meta["description"]).strip()
    if not description:
        raise InsightError(f"{source}: the header needs a '-- description: ...' line")
    params = [p for f in used_fragments for p in f.params] + [_parse_param(spec, source) for spec in meta["param"]]
    seen = [p.name for p in params]
    dupes = sorted({x for x in seen if seen.count(x) > 1})
    if dupes:
        raise InsightError(f"{source}: parameter {', '.join(dupes)} declared twice")
    if sql.strip() == "":
        raise InsightError(f"{source}: no SQL after the header")
    used = set(_PLACEHOLDER.findall(_strip_strings_and_comments(sql)))
    declared = set(seen)
    if used - declared:
        raise InsightError(f"{source}: SQL uses undeclared parameter(s) {', '.join('$' + u for u in sorted(used - declared))}")
    if declared - used:
        raise InsightError(f"{source}: parameter(s) {', '.join(sorted(declared - used))} declared but not used in the SQL")
    if len(meta["category"]) > 1 or (meta["category"] and not _CATEGORY.match(meta["category"][0])):
        raise InsightError(f"{source}: at most one '-- category: <lowercase-word>' line")
    category = meta["category"][0] if meta["category"] else "general"
    for frag in used_fragments:  # `insights show` prints the whole story: the fragment's header too
        header += f"-- from fragment {frag.name}:\n" + "".join(
            ln for ln in frag.header.splitlines(keepends=True) if not ln.strip().startswith("-- fragment:")
        )
    return Insight(name=name, description=description, params=params, sql=sql, path=path, header=header, category=category)


def _parse_param(spec: str, source: str) -> Param:
    parts = spec.split(None, 3)
    if len(parts) < 4:
        raise InsightError(f"{source}: '-- param: {spec}' must read NAME TYPE DEFAULT DESCRIPTION")
    name, type_, default, description = parts
    if not _NAME.match(name):
        raise InsightError(f"{source}: parameter name {name!r} must be lowercase letters, digits and _")
    if type_ not in PARAM_TYPES:
        raise InsightError(f"{source}: parameter {name!r} has type {type_!r}; use one of {', '.join(PARAM_TYPES)}")
    param = Param(name, type_, None if default == REQUIRED else default, description)
    if param.default is not None:
        param.convert(param.default, source)  # a bad default fails at load, not at run
    return param


def _strip_strings_and_comments(sql: str) -> str:
    """SQL without string literals and comments, so `'$.a.b'` is not a placeholder."""
    return re.sub(r"'(?:[^']|'')*'|--[^\n]*|/\*.*?\*/", " ", sql, flags=re.S)


@lru_cache(maxsize=1)
def _load_all() -> dict[str, Insight]:
    found: dict[str, Insight] = {}
    root = resources.files("eventlake.insights")
    fragments: dict[str, Fragment] = {}
    frag_root = root / "fragments"
    if frag_root.is_dir():
        for entry in sorted(frag_root.iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".sql"):
                frag = parse_fragment(entry.read_text(encoding="utf-8"), f"fragments/{entry.name}")
                fragments[frag.name] = frag
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".sql"):
            continue
        path = Path(str(entry))
        insight = parse_insight(entry.read_text(encoding="utf-8"), entry.name, path, fragments)
        found[insight.name] = insight
    return found


def list_insights() -> list[Insight]:
    """Every built-in insight, sorted by name."""
    return [v for _, v in sorted(_load_all().items())]


def get_insight(name: str) -> Insight:
    """The insight called `name`; InsightError listing the known ones if there is none."""
    insights = _load_all()
    if name not in insights:
        raise InsightError(f"unknown insight {name!r}; known insights: {', '.join(sorted(insights))}")
    return insights[name]


def run_insight(engine: "Engine", name: str, values: dict[str, Any] | None = None, as_of: dt.date | None = None) -> pa.Table:
    """Run the insight called `name` on `engine` with `values` (text or typed) and `as_of`."""
    return get_insight(name).run(engine, values, as_of)
