"""Suggest PII classifications for a table's columns, from two kinds of evidence:

- the column's name (`email`, `client_ip`, `srcaddr`, `first_name`, `msisdn`, `comment`...);
- a sample of its values: e-mail addresses (a regex), IPv4/IPv6 addresses (the
  ipaddress module), card numbers (13-19 digits passing the Luhn check, python-stdnum),
  phone numbers (phonenumbers, Google's libphonenumber), free text (long strings of
  words), and the same inside JSON values and inside longer strings (raw log lines).

Each piece of evidence has a confidence; name and values together (noisy-or) give the
suggestion's confidence, and values that contradict the name lower it. `suggest()` only
reads; `apply()` writes the confident suggestions as column policies with a default mask."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

import orjson
import phonenumbers
from stdnum import luhn

from ..errors import EventlakeError
from ..lake import Lake
from ..lake.catalog import ALIAS
from .store import ColumnPolicy, lake_columns, read_policies, write_policies

# the mask --apply puts on each classification (None: classified only)
DEFAULT_MASKS: dict[str, str | None] = {
    "email": "hash", "ip": "hash", "name": "redact", "phone": "last4", "card": "last4",
    "free_text": "redact", "address": "redact", "id": None, "other": None,
}
APPLY_THRESHOLD = 0.7
_STRING_TYPES = ("VARCHAR", "JSON", "TEXT", "STRING", "INET")
_NUMBER_TYPES = ("BIGINT", "INTEGER", "HUGEINT", "UBIGINT", "DECIMAL")

# --- evidence from names -------------------------------------------------------------

_NAME_EXACT: dict[str, tuple[str, float]] = {
    # ip
    "ip": ("ip", 0.7), "srcaddr": ("ip", 0.7), "dstaddr": ("ip", 0.7), "pkt_srcaddr": ("ip", 0.7),
    "pkt_dstaddr": ("ip", 0.7), "c_ip": ("ip", 0.7), "remote_addr": ("ip", 0.7), "x_forwarded_for": ("ip", 0.7),
    "xff": ("ip", 0.6), "client_addr": ("ip", 0.7), "ipaddress": ("ip", 0.7),
    # names of people
    "first_name": ("name", 0.7), "last_name": ("name", 0.7), "full_name": ("name", 0.7), "given_name": ("name", 0.7),
    "family_name": ("name", 0.7), "middle_name": ("name", 0.7), "surname": ("name", 0.7), "firstname": ("name", 0.7),
    "lastname": ("name", 0.7), "fullname": ("name", 0.7), "display_name": ("name", 0.6), "person_name": ("name", 0.7),
    "contact_name": ("name", 0.7), "customer_name": ("name", 0.7), "nickname": ("name", 0.6), "user_name": ("name", 0.6),
    "username": ("name", 0.6), "name": ("name", 0.4),
    # phones, cards
    "msisdn": ("phone", 0.7), "pan": ("card", 0.6), "cc_number": ("card", 0.7), "ccnum": ("card", 0.7),
    "creditcard": ("card", 0.7), "credit_card": ("card", 0.7), "card_number": ("card", 0.7),
    # ids that point at a person
    "user_id": ("id", 0.6), "userid": ("id", 0.6), "anonymous_id": ("id", 0.6), "customer_id": ("id", 0.6),
    "person_id": ("id", 0.6), "member_id": ("id", 0.6), "visitor_id": ("id", 0.6), "device_id": ("id", 0.6),
    "distinct_id": ("id", 0.6), "principal_id": ("id", 0.5), "user_key": ("id", 0.5), "ssn": ("id", 0.7),
}
# token -> (classification, confidence), tried when no exact name matched
_NAME_TOKENS: list[tuple[frozenset[str], str, float]] = [
    (frozenset({"email", "mail", "emailaddress"}), "email", 0.7),
    (frozenset({"ip", "ipv4", "ipv6", "ipaddress", "ipaddr"}), "ip", 0.7),
    (frozenset({"phone", "msisdn", "telephone", "mobile", "tel", "fax", "phonenumber"}), "phone", 0.7),
    (frozenset({"card", "creditcard", "pan"}), "card", 0.6),
    (frozenset({"street", "address", "postcode", "zipcode", "zip", "postal"}), "address", 0.6),
    (frozenset({"comment", "comments", "message", "note", "notes", "description", "title", "body", "text",
                "feedback", "remarks", "memo", "subject"}), "free_text", 0.5),
]
_ID_SUFFIXES = {"id", "ids", "uuid", "key", "hash", "arn", "type", "count", "code", "format", "version", "length", "len"}
_NOT_ADDRESS = {"ip", "email", "mail", "mac", "remote", "src", "dst", "source", "destination", "client", "server", "host"}


def _tokens(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return [t for t in re.split(r"[^a-z0-9]+", spaced.lower()) if t]


def name_evidence(column: str) -> tuple[str, float, str] | None:
    """(classification, confidence, reason) from the column's name alone."""
    low = column.lower()
    if low in _NAME_EXACT:
        cls, conf = _NAME_EXACT[low]
        return cls, conf, f"name {column!r}"
    if "e_mail" in low:
        return "email", 0.7, f"name {column!r}"
    toks = _tokens(column)
    if len(toks) >= 2 and toks[-1] in ("addr", "address") and toks[-2] in ("src", "dst", "remote", "client", "source", "peer"):
        return "ip", 0.7, f"name {column!r}"
    if toks and toks[-1] in _ID_SUFFIXES:
        return None  # message_id, title_key, address_type: a value about the thing, not the thing
    if toks[-2:] == ["user", "name"] or (toks and toks[-1] == "username"):
        return "name", 0.5, f"name {column!r}"
    for words, cls, conf in _NAME_TOKENS:
        hit = words & set(toks)
        if not hit:
            continue
        if cls == "address" and _NOT_ADDRESS & set(toks):
            continue
        return cls, conf, f"name {column!r} ({sorted(hit)[0]})"
    return None


# --- evidence from values -------------------------------------------------------------

_EMAIL_FULL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,}$")
_EMAIL_IN = re.compile(r"[A-Za-z0-9.!#$%&'*+=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,}")
# not after a letter, digit, '.', '/', '_' or '-': "Chrome/120.0.0.0" is a version, "x_10.0.0.1" a file name
_IPV4_IN = re.compile(r"(?<![\w./-])(?:\d{1,3}\.){3}\d{1,3}(?![\w.])")
_IPV6_IN = re.compile(r"(?<![0-9A-Za-z:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![0-9A-Za-z:])")
_CARD_FULL = re.compile(r"^\d(?:[ -]?\d){12,18}$")
_PHONE_FULL = re.compile(r"^\+?[\d\s().-]{7,22}$")
_WORD = re.compile(r"^[^\W\d_]{2,}[.,;:!?]?$")


def is_email(v: str) -> bool:
    return len(v) <= 254 and bool(_EMAIL_FULL.match(v))


def is_ip(v: str) -> bool:
    if not v or len(v) > 45 or not (":" in v or "." in v):
        return False
    try:
        ipaddress.ip_address(v)
    except ValueError:
        return False
    return True


def ips_in(v: str) -> bool:
    for m in _IPV4_IN.finditer(v):
        if is_ip(m.group(0)):
            return True
    for m in _IPV6_IN.finditer(v):
        s = m.group(0)
        if s.count(":") >= 2 and any(c.isalnum() for c in s) and is_ip(s):
            return True
    return False


def is_card(v: str) -> bool:
    if not _CARD_FULL.match(v):
        return False
    digits = re.sub(r"\D", "", v)
    return digits[0] in "23456" and luhn.is_valid(digits)


def is_phone(v: str) -> bool:
    """A phone number written as one: a leading + or separators (a bare run of digits is
    far more often an id), valid for its country (US when no +country code)."""
    if not _PHONE_FULL.match(v) or sum(c.isdigit() for c in v) < 7:
        return False
    if not v.startswith("+") and not re.search(r"\d[\s().-]+\d", v):
        return False
    try:
        num = phonenumbers.parse(v, None if v.startswith("+") else "US")
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(num)


def is_free_text(v: str) -> bool:
    """Prose: at least 20 characters and 4 words, most tokens plain words (a user agent or
    a log line is mostly other tokens)."""
    if len(v) < 20:
        return False
    toks = v.split()
    if len(toks) < 4:
        return False
    return sum(1 for t in toks if _WORD.match(t)) >= 0.6 * len(toks)


_WHOLE = (("email", is_email), ("ip", is_ip), ("card", is_card), ("phone", is_phone))


def _json_leaves(value, path: str = "$"):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _json_leaves(v, f"{path}.{k}")
    elif isinstance(value, list):
        for v in value:
            yield from _json_leaves(v, f"{path}[]")
    elif isinstance(value, str):
        yield path, value


@dataclass
class _Tally:
    values: int = 0
    whole: dict[str, int] = field(default_factory=dict)  # classification -> values that are one
    inside: dict[str, int] = field(default_factory=dict)  # classification -> values holding one
    paths: dict[str, dict[str, int]] = field(default_factory=dict)  # JSON: classification -> path -> hits
    free_text: int = 0
    prose: set[str] = field(default_factory=set)  # distinct prose values (up to 10)


def _scan(values: list[str], is_json: bool) -> _Tally:
    t = _Tally()
    for v in values:
        t.values += 1
        if is_json:
            try:
                doc = orjson.loads(v)
            except orjson.JSONDecodeError:
                doc = v
            found = set()
            for path, leaf in _json_leaves(doc):
                for cls, test in _WHOLE:
                    if test(leaf) or (cls == "email" and _EMAIL_IN.search(leaf)) or (cls == "ip" and ips_in(leaf)):
                        found.add(cls)
                        t.paths.setdefault(cls, {})[path] = t.paths.get(cls, {}).get(path, 0) + 1
            for cls in found:
                t.inside[cls] = t.inside.get(cls, 0) + 1
            continue
        v = v.strip()
        whole = next((cls for cls, test in _WHOLE if test(v)), None)
        if whole:
            t.whole[whole] = t.whole.get(whole, 0) + 1
            continue
        if _EMAIL_IN.search(v):
            t.inside["email"] = t.inside.get("email", 0) + 1
        if ips_in(v):
            t.inside["ip"] = t.inside.get("ip", 0) + 1
        if is_free_text(v):
            t.free_text += 1
            if len(t.prose) < 10:
                t.prose.add(v)
    return t


# --- suggestions -------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    column: str
    classification: str
    confidence: float
    reason: str
    suggested_mask: str | None

    def as_dict(self) -> dict:
        return {"column": self.column, "classification": self.classification, "confidence": self.confidence,
                "reason": self.reason, "suggested_mask": self.suggested_mask}


def _pct(n: int, d: int) -> str:
    return f"{n}/{d} sampled values"


def _candidates(column: str, tally: _Tally | None) -> list[tuple[str, float, str, bool]]:
    """(classification, confidence, reason, embedded) for every kind of evidence found."""
    name = name_evidence(column)
    out: dict[str, tuple[float, list[str], bool]] = {}
    if name is not None:
        out[name[0]] = (name[1], [name[2]], False)

    def add(cls: str, conf: float, reason: str, embedded: bool) -> None:
        prev_conf, reasons, prev_emb = out.get(cls, (0.0, [], embedded))
        out[cls] = (1 - (1 - prev_conf) * (1 - conf), reasons + [reason], prev_emb and embedded)

    if tally is not None and tally.values:
        n = tally.values
        for cls, hits in tally.whole.items():
            f = hits / n
            if f >= 0.05:
                add(cls, 0.95 * f, f"{cls} in {_pct(hits, n)}", False)
        for cls, hits in tally.inside.items():
            f = hits / n
            where = ""
            if tally.paths.get(cls):
                top = sorted(tally.paths[cls].items(), key=lambda kv: (-kv[1], kv[0]))[:3]
                where = " at " + ", ".join(p for p, _ in top)
            # e-mail addresses and IPs are rarely false positives: a few hits count
            conf = min(0.9, 0.5 + 0.4 * f) if hits >= 2 or f >= 0.05 else 0.4
            add(cls, conf, f"{cls} inside {_pct(hits, n)}{where}", True)
        if tally.free_text:
            f = tally.free_text / n
            if f >= 0.3 and len(tally.prose) >= 3:  # a constant (a log format line) is no one's text
                add("free_text", 0.6 * f, f"prose in {_pct(tally.free_text, n)}", False)
        # the values contradict the name: it says e-mail/ip/card/phone, none is one
        if name is not None and name[0] in ("email", "ip", "card", "phone") and n >= 20:
            hits = tally.whole.get(name[0], 0) + tally.inside.get(name[0], 0)
            if hits == 0:
                conf, reasons, emb = out[name[0]]
                out[name[0]] = (conf * 0.5, reasons + [f"but no {name[0]} in {n} sampled values"], emb)
    return [(cls, round(conf, 2), "; ".join(reasons), emb) for cls, (conf, reasons, emb) in out.items()]


def _sample(con, table: str, column: str, sample: int) -> list[str]:
    q = (f'SELECT v FROM (SELECT CAST("{column}" AS VARCHAR) AS v FROM {ALIAS}."{table}" WHERE "{column}" IS NOT NULL) '
         f"USING SAMPLE reservoir({int(sample)} ROWS) REPEATABLE (7)")
    return [r[0] for r in con.execute(q).fetchall()]


def _table_exists(con, table: str) -> bool:
    return bool(con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_catalog = ? AND table_schema = 'main' AND table_name = ?",
        [ALIAS, table]).fetchall()[0][0])


def suggest_con(con, table: str, sample: int = 1000) -> list[Suggestion]:
    if sample < 1:
        raise EventlakeError(f"--sample {sample}: use at least 1")
    columns = lake_columns(con, table)
    exists = _table_exists(con, table)
    out = []
    for column, ctype in columns.items():
        base = ctype.upper().split("(")[0]
        stringy = base in _STRING_TYPES or base.startswith("VARCHAR") or ctype.upper().endswith("[]")
        if not stringy and base not in _NUMBER_TYPES:
            continue  # dates, times, numbers of measure, booleans: no PII classification here
        tally = None
        if exists and stringy:
            tally = _scan(_sample(con, table, column, sample), is_json=base == "JSON" or ctype.upper().endswith("[]"))
        cands = _candidates(column, tally)
        if not stringy:
            cands = [c for c in cands if c[0] in ("phone", "card", "id")]
        if not cands:
            continue
        cls, conf, reason, embedded = max(cands, key=lambda c: (c[1], c[0]))
        others = [f"{c} {k:.2f}" for c, k, _, _ in sorted(cands, key=lambda c: -c[1]) if c != cls]
        if others:
            reason += f" (also {', '.join(others)})"
        mask = DEFAULT_MASKS.get(cls)
        if mask is not None and (embedded or base == "JSON"):
            # the value only holds the PII (a raw log line, a JSON document): hide it whole
            mask = "redact" if base != "JSON" else "null"
        out.append(Suggestion(column, cls, conf, reason, mask))
    return out


def suggest(lake: Lake, table: str, sample: int = 1000) -> list[Suggestion]:
    """PII suggestions for `table`'s columns, in column order, from names and up to
    `sample` sampled non-null values per column. Reads only."""
    con = lake.connect(read_only=True)
    try:
        return suggest_con(con, table, sample)
    finally:
        con.close()


@dataclass(frozen=True)
class Applied:
    suggestion: Suggestion
    action: str  # applied | kept | below threshold
    policy: ColumnPolicy | None = None

    def line(self, table: str) -> str:
        s = self.suggestion
        what = f"{s.classification}" + (f", mask {s.suggested_mask}" if s.suggested_mask else ", no mask")
        if self.action == "applied":
            return f"{table}.{s.column}: classified {what} (confidence {s.confidence:.2f})"
        if self.action == "kept":
            return f"{table}.{s.column}: has a policy already ({self.policy.classification or '-'}, {self.policy.describe_mask() or 'no mask'}), kept"
        return f"{table}.{s.column}: {s.classification} at confidence {s.confidence:.2f} is below {APPLY_THRESHOLD}, not applied"


def apply(lake: Lake, table: str, suggestions: list[Suggestion], except_groups: list[str] | tuple[str, ...] = (),
          threshold: float = APPLY_THRESHOLD) -> list[Applied]:
    """Write the suggestions at or above `threshold` as policies (classification and its
    default mask, seen unmasked by `except_groups`) in one commit; columns that have a
    policy already keep it."""
    con = lake.connect(read_only=True)
    try:
        existing = {p.column: p for p in read_policies(con) if p.table == table}
    finally:
        con.close()
    out, todo = [], []
    for s in suggestions:
        if s.confidence < threshold:
            out.append(Applied(s, "below threshold"))
        elif s.column in existing:
            out.append(Applied(s, "kept", existing[s.column]))
        else:
            p = ColumnPolicy(table, s.column, s.classification, s.suggested_mask, None,
                             frozenset(except_groups) if s.suggested_mask else frozenset(), "suggest")
            todo.append(p)
            out.append(Applied(s, "applied", p))
    written = {(p.table, p.column): p for p in write_policies(lake, todo)}
    return [Applied(a.suggestion, a.action, written.get((table, a.suggestion.column), a.policy)) for a in out]
