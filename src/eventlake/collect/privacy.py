"""Privacy rules applied to every event at receipt, before it is stored: pure functions,
no I/O.

- Allowlists (per source; None means "every name"): a track event whose name is not in
  the event allowlist is dropped; properties whose name is not in the property
  allowlist are removed (the reserved page properties `url`, `path`, `referrer`,
  `title`, `search`, `name`, `keywords` of page/screen events are always kept, so web
  analytics keeps working; their values are still cleaned).
- Sanitizer (properties, traits, context.traits, recursively): substrings that look
  like e-mail addresses, bearer/API tokens and secrets (JWTs, `sk_live_...`, AWS access
  key ids, GitHub/Slack/Google keys, high-entropy hex or base64 of 32+ characters) and
  card-like numbers (13-19 digits with optional separators, Luhn-valid) are replaced
  by "[redacted:email]", "[redacted:token]", "[redacted:secret]", "[redacted:card]".
- URLs: the query string of properties.url / properties.referrer / properties.search and
  context.page.url / referrer / search keeps only the parameters in the source's query
  allowlist and `utm_*`; a fragment that carries parameters (`#access_token=...`) is
  removed, a plain anchor (`#pricing`) is kept.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from urllib.parse import unquote_plus, urlsplit, urlunsplit

# --- allowlists --------------------------------------------------------------

PAGE_RESERVED_PROPERTIES = frozenset({"url", "path", "referrer", "title", "search", "name", "keywords"})
URL_PROPERTIES = ("url", "referrer")
SEARCH_PROPERTY = "search"
_URL_KEYS = frozenset(URL_PROPERTIES + (SEARCH_PROPERTY,))


@dataclass(frozen=True)
class Policy:
    """One source's privacy settings (see collector_sources)."""

    event_allowlist: frozenset[str] | None = None
    property_allowlist: frozenset[str] | None = None
    query_allowlist: frozenset[str] = frozenset()
    keep_ip: bool = False

    @classmethod
    def build(cls, event_allowlist=None, property_allowlist=None, query_allowlist=None, keep_ip=False) -> "Policy":
        return cls(
            None if event_allowlist is None else frozenset(event_allowlist),
            None if property_allowlist is None else frozenset(property_allowlist),
            frozenset(query_allowlist or ()),
            bool(keep_ip),
        )


def event_allowed(event_name: object, allowlist: frozenset[str] | set[str] | None) -> bool:
    """Is a track event with this name kept? No allowlist: every name is."""
    if allowlist is None:
        return True
    return isinstance(event_name, str) and event_name in allowlist


def filter_properties(
    properties: dict, allowlist: frozenset[str] | set[str] | None, *, keep: frozenset[str] = frozenset()
) -> tuple[dict, int]:
    """The properties whose names are in the allowlist (or in `keep`), and how many
    were removed. No allowlist: all of them, unchanged."""
    if allowlist is None:
        return properties, 0
    kept = {k: v for k, v in properties.items() if k in allowlist or k in keep}
    return kept, len(properties) - len(kept)


# --- sanitizer -----------------------------------------------------------------

EMAIL_RE = re.compile(r"(?<![\w.%+-])[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}(?![\w-])")

# Known token shapes: every match is redacted whatever its entropy.
TOKEN_RES = (
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}"),  # Authorization: Bearer ...
    re.compile(r"(?i)\bbasic\s+[A-Za-z0-9+/]{12,}={0,2}"),  # Authorization: Basic ...
    re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),  # JWT
    re.compile(r"\b(?:sk|rk|pk|whsec)_(?:live|test)_[A-Za-z0-9]{8,}"),  # Stripe
    re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b"),  # AWS key ids
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b"),  # GitHub
    re.compile(r"\bgithub_pat_[A-Za-z0-9_]{30,}\b"),
    re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),  # Slack
    re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),  # Google API key
    re.compile(r"\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}"),  # OpenAI / Anthropic style
    re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}"),  # GitLab
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)"),
)


def _scoped(pattern: str) -> str:
    """A pattern whose leading global flags, e.g. (?i), are made local to it, so that
    it can be one branch of an alternation."""
    m = re.match(r"\(\?([aiLmsux]+)\)", pattern)
    return f"(?{m.group(1)}:{pattern[m.end():]})" if m else f"(?:{pattern})"


# Any of TOKEN_RES, in one scan: a string none of them matches (nearly every string)
# skips the twelve substitutions.
ANY_TOKEN_RE = re.compile("|".join(_scoped(rx.pattern) for rx in TOKEN_RES))

HEX_RE = re.compile(r"(?<![A-Za-z0-9])[0-9a-fA-F]{32,}(?![A-Za-z0-9])")
B64_RE = re.compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{32,}={0,2}(?![A-Za-z0-9+/_=-])")
# 13-19 digits, optionally grouped by single spaces or dashes; the first digit is a
# card network's (2-6), which keeps millisecond timestamps (1...) out.
CARD_RE = re.compile(r"(?<![\d.])[2-6]\d(?:[ -]?\d){11,17}(?![\d])")

EMAIL = "[redacted:email]"
TOKEN = "[redacted:token]"
SECRET = "[redacted:secret]"
CARD = "[redacted:card]"


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum that every payment card number satisfies."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def shannon_entropy(s: str) -> float:
    """Bits per character."""
    if not s:
        return 0.0
    n = len(s)
    return -sum(c / n * math.log2(c / n) for c in Counter(s).values())


WORDISH_RE = re.compile(r"[A-Z]?[a-z]{3,}")


def _looks_secret_b64(s: str) -> bool:
    """A long base64/base64url run that is random, not words: upper and lower case,
    high entropy, and not mostly made of words (paths, slugs, camelCase names)."""
    body = s.rstrip("=")
    if len(body) < 32:
        return False
    if not (any(c.isupper() for c in body) and any(c.islower() for c in body)):
        return False
    if sum(len(m) for m in WORDISH_RE.findall(body)) > 0.6 * len(body):
        return False
    return shannon_entropy(body) >= 4.0


def _card_sub(counts: Counter):
    def repl(m: re.Match) -> str:
        digits = re.sub(r"[ -]", "", m.group(0))
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            counts["card"] += 1
            return CARD
        return m.group(0)

    return repl


# A string shorter than this holds nothing to redact (the shortest e-mail address
# EMAIL_RE takes, a@b.cd, has six characters); an integer of at least CARD_INT_MIN may
# be a card number (13 to 19 digits).
SHORTEST_REDACTABLE = 6
CARD_INT_MIN = 10**12


def sanitize_string(value: str, counts: Counter | None = None) -> str:
    """The string with every e-mail address, token, secret and card number replaced."""
    counts = counts if counts is not None else Counter()
    if len(value) < SHORTEST_REDACTABLE:
        return value
    out = value
    if "@" in out:
        out, n = EMAIL_RE.subn(EMAIL, out)
        if n:
            counts["email"] += n
    if ANY_TOKEN_RE.search(out) is not None:
        for rx in TOKEN_RES:
            out, n = rx.subn(TOKEN, out)
            if n:
                counts["token"] += n
    if len(out) >= 32:
        out, n = HEX_RE.subn(SECRET, out)
        if n:
            counts["secret"] += n

        def b64(m: re.Match) -> str:
            if _looks_secret_b64(m.group(0)):
                counts["secret"] += 1
                return SECRET
            return m.group(0)

        out = B64_RE.sub(b64, out)
    if sum(c.isdigit() for c in out) >= 13:
        out = CARD_RE.sub(_card_sub(counts), out)
    return out


def sanitize_value(value, counts: Counter | None = None, _depth: int = 0):
    """Sanitize a JSON value: strings are cleaned, objects and arrays recursively,
    integers that look like card numbers are replaced; other values are kept."""
    counts = counts if counts is not None else Counter()
    if isinstance(value, str):
        return sanitize_string(value, counts)
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        if CARD_INT_MIN <= abs(value) < 10**19:
            s = str(abs(value))
            if s[0] in "23456" and luhn_valid(s):
                counts["card"] += 1
                return CARD
        return value
    if _depth > 64:
        return value  # the JSON parser bounds depth; this only guards recursion
    if isinstance(value, dict):
        return _sanitize_dict(value, counts, _depth + 1)
    if isinstance(value, list):
        return [sanitize_value(v, counts, _depth + 1) for v in value]
    return value


def _sanitize_dict(value: dict, counts: Counter, depth: int) -> dict:
    """sanitize_value of a JSON object, with the common scalars (short strings, small
    numbers, booleans, null) kept inline rather than by a call each."""
    out = {}
    for k, v in value.items():
        t = type(v)
        if t is str:
            out[k] = v if len(v) < SHORTEST_REDACTABLE else sanitize_string(v, counts)
        elif t is int:
            out[k] = v if -CARD_INT_MIN < v < CARD_INT_MIN else sanitize_value(v, counts, depth)
        elif v is None or t is bool or t is float:
            out[k] = v
        else:
            out[k] = sanitize_value(v, counts, depth)
    return out


# --- URLs ------------------------------------------------------------------------


def _keep_param(name: str, allow: frozenset[str] | set[str]) -> bool:
    return name.lower().startswith("utm_") or name in allow


def filter_query(query: str, allow: frozenset[str] | set[str] = frozenset()) -> tuple[str, int]:
    """A raw query string (without '?') reduced to the allowed parameters, their
    original encoding kept; and how many parameters were removed."""
    if not query:
        return query, 0
    kept, removed = [], 0
    for part in query.split("&"):
        if not part:
            continue
        name = unquote_plus(part.split("=", 1)[0])
        if _keep_param(name, allow):
            kept.append(part)
        else:
            removed += 1
    return "&".join(kept), removed


def strip_url(url: str, allow: frozenset[str] | set[str] = frozenset()) -> tuple[str, int]:
    """The URL with its query string reduced to utm_* and the allowed parameters, and
    a fragment that carries parameters removed. Returns (url, parameters removed)."""
    if "?" not in url and "#" not in url:
        return url, 0
    try:
        parts = urlsplit(url)
    except ValueError:
        # not parseable as a URL: cut everything after the first ? or #
        return re.split(r"[?#]", url, maxsplit=1)[0], 1
    query, removed = filter_query(parts.query, allow)
    fragment = parts.fragment
    if fragment and ("=" in fragment or "&" in fragment):
        fragment = ""
        removed += 1
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, fragment)), removed


def strip_search(search: str, allow: frozenset[str] | set[str] = frozenset()) -> tuple[str, int]:
    """A location.search value ('?a=1&utm_source=x') reduced like a URL's query."""
    q = search[1:] if search.startswith("?") else search
    kept, removed = filter_query(q, allow)
    return (("?" + kept) if kept else ""), removed


# --- the whole event ---------------------------------------------------------------


class Outcome:
    """What the rules did to one event: the event (None: dropped by the event
    allowlist), how many properties and query parameters were removed, and the
    redactions by kind. (A plain class with slots: one is made per event received.)"""

    __slots__ = ("event", "properties_removed", "query_params_removed", "redactions")

    def __init__(self, event: dict | None, properties_removed: int = 0, query_params_removed: int = 0,
                 redactions: Counter | None = None):
        self.event = event
        self.properties_removed = properties_removed
        self.query_params_removed = query_params_removed
        self.redactions = Counter() if redactions is None else redactions

    @property
    def dropped(self) -> bool:
        return self.event is None

    def __repr__(self) -> str:
        return (f"Outcome(event={self.event!r}, properties_removed={self.properties_removed}, "
                f"query_params_removed={self.query_params_removed}, redactions={self.redactions!r})")


def _clean_urls(obj: dict, allow: frozenset[str], out: Outcome) -> dict:
    changed = None
    for key in URL_PROPERTIES:
        v = obj.get(key)
        if isinstance(v, str) and v:
            new, n = strip_url(v, allow)
            if n:
                changed = changed or dict(obj)
                changed[key] = new
                out.query_params_removed += n
    v = obj.get(SEARCH_PROPERTY)
    if isinstance(v, str) and v:
        new, n = strip_search(v, allow)
        if n:
            changed = changed or dict(obj)
            changed[SEARCH_PROPERTY] = new
            out.query_params_removed += n
    return changed if changed is not None else obj


def apply_policy(event: dict, policy: Policy) -> Outcome:
    """Apply the allowlists, URL rules and sanitizer to one Segment event (a dict
    whose `type` is set). The input is not modified; the IP is not handled here."""
    return apply_policy_to_own(dict(event), policy, Counter())


def apply_policy_to_own(ev: dict, policy: Policy, redactions: Counter) -> Outcome:
    """apply_policy for an event dict the caller owns (a copy made for it, as the
    collector's validation makes), counting redactions into `redactions` (the
    Outcome's, which the caller may share between events: the collector passes its
    running count per source). The event's top-level fields are replaced in place;
    nested objects are never modified (a changed one is a new object)."""
    etype = ev.get("type")
    allow = policy.event_allowlist
    if allow is not None and etype == "track" and not event_allowed(ev.get("event"), allow):
        return Outcome(None, redactions=redactions)
    out = Outcome(ev, redactions=redactions)
    props = ev.get("properties")
    if isinstance(props, dict):
        if policy.property_allowlist is not None:
            keep = PAGE_RESERVED_PROPERTIES if etype in ("page", "screen") else frozenset()
            props, out.properties_removed = filter_properties(props, policy.property_allowlist, keep=keep)
        if not _URL_KEYS.isdisjoint(props):
            props = _clean_urls(props, policy.query_allowlist, out)
        ev["properties"] = _sanitize_dict(props, out.redactions, 1)
    traits = ev.get("traits")
    if isinstance(traits, dict):
        ev["traits"] = _sanitize_dict(traits, out.redactions, 1)
    ctx = ev.get("context")
    if isinstance(ctx, dict):
        page = ctx.get("page")
        ctx_traits = ctx.get("traits")
        if isinstance(page, dict) or isinstance(ctx_traits, dict):
            ctx = dict(ctx)
            if isinstance(page, dict):
                ctx["page"] = _sanitize_dict(_clean_urls(page, policy.query_allowlist, out), out.redactions, 1)
            if isinstance(ctx_traits, dict):
                ctx["traits"] = _sanitize_dict(ctx_traits, out.redactions, 1)
        ev["context"] = ctx
    # (redactions only ever counts up: no zero counts to drop)
    return out
