"""The collector's privacy rules (pure functions): allowlists, the sanitizer and URL
query stripping."""

from __future__ import annotations

import base64
import os
import secrets
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventlake.collect.privacy import (
    CARD,
    EMAIL,
    SECRET,
    TOKEN,
    Policy,
    apply_policy,
    event_allowed,
    filter_properties,
    filter_query,
    luhn_valid,
    sanitize_string,
    sanitize_value,
    strip_search,
    strip_url,
)

# --- allowlists ----------------------------------------------------------------


def test_no_event_allowlist_accepts_every_name():
    assert event_allowed("Anything", None)
    assert event_allowed("", None)


def test_event_allowlist():
    allow = frozenset({"Signed Up", "Order Completed"})
    assert event_allowed("Signed Up", allow)
    assert not event_allowed("signed up", allow)  # names are exact
    assert not event_allowed("Page Scrolled", allow)
    assert not event_allowed(None, allow)


def test_property_allowlist_removes_and_counts():
    props = {"plan": "pro", "seats": 3, "email": "a@b.co", "notes": "x"}
    kept, removed = filter_properties(props, frozenset({"plan", "seats"}))
    assert kept == {"plan": "pro", "seats": 3}
    assert removed == 2
    same, none = filter_properties(props, None)
    assert same is props and none == 0


def test_track_event_outside_the_allowlist_is_dropped():
    policy = Policy.build(event_allowlist=["Signed Up"])
    out = apply_policy({"type": "track", "event": "Secret Thing", "userId": "u"}, policy)
    assert out.dropped and out.event is None
    kept = apply_policy({"type": "track", "event": "Signed Up", "userId": "u"}, policy)
    assert not kept.dropped and kept.event["event"] == "Signed Up"


def test_event_allowlist_applies_to_track_only():
    policy = Policy.build(event_allowlist=["Signed Up"])
    for t in ("page", "screen", "identify", "group", "alias"):
        assert not apply_policy({"type": t, "userId": "u"}, policy).dropped


def test_page_keeps_reserved_properties_under_a_property_allowlist():
    policy = Policy.build(property_allowlist=["plan"])
    ev = {
        "type": "page",
        "anonymousId": "a",
        "properties": {"url": "https://ex.com/a", "path": "/a", "title": "A", "referrer": "", "plan": "pro", "secret": "x"},
    }
    out = apply_policy(ev, policy)
    assert out.event["properties"] == {"url": "https://ex.com/a", "path": "/a", "title": "A", "referrer": "", "plan": "pro"}
    assert out.properties_removed == 1
    # a track event has no reserved properties
    out = apply_policy({"type": "track", "event": "e", "userId": "u", "properties": {"url": "https://ex.com", "plan": 1}}, policy)
    assert out.event["properties"] == {"plan": 1}


def test_apply_policy_does_not_modify_its_input():
    ev = {"type": "identify", "userId": "u", "traits": {"email": "john@example.com"}, "context": {"page": {"url": "https://x.io/?t=1"}}}
    snapshot = repr(ev)
    out = apply_policy(ev, Policy())
    assert repr(ev) == snapshot
    assert out.event["traits"] == {"email": EMAIL}
    assert out.event["context"]["page"]["url"] == "https://x.io/"


# --- sanitizer ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "value,expected",
    [
        ("john.doe@example.com", EMAIL),
        ("a@b.co", EMAIL),
        ("Contact: Jane.O'Brien+news@mail.example.co.uk, thanks", "Contact: Jane.O'" + EMAIL + ", thanks"),
        ("two: a@x.org b@y.org", f"two: {EMAIL} {EMAIL}"),
        ("Bearer abcDEF123456789xyz", TOKEN),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig", "Authorization: " + TOKEN),
        ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c", TOKEN),
        ("sk_live_4eC39HqLyjWDarjtT1zdp7dc", TOKEN),
        ("key=rk_test_51Habcdefghij", "key=" + TOKEN),
        ("AKIAIOSFODNN7EXAMPLE", TOKEN),
        ("ghp_" + "a1B2" * 9, TOKEN),
        ("xoxb-1234567890-abcdefghij", TOKEN),
        ("AIza" + "SyA1234567890abcdefghijklmnopqrstuv", TOKEN),
        ("d41d8cd98f00b204e9800998ecf8427e", SECRET),  # 32 hex
        ("token " + "0123456789abcdef" * 4, "token " + SECRET),
        ("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", SECRET),  # an AWS secret access key
        ("4111 1111 1111 1111", CARD),
        ("paid with 4111-1111-1111-1111 today", f"paid with {CARD} today"),
        ("5500005555555559", CARD),
        ("378282246310005", CARD),  # 15-digit Amex
        ("6011111111111117", CARD),
    ],
)
def test_sanitizer_redacts(value, expected):
    counts = Counter()
    assert sanitize_string(value, counts) == expected
    assert sum(counts.values()) >= 1


@pytest.mark.parametrize(
    "value",
    [
        "Pro plan",
        "https://example.com/docs/Getting-Started-2024/intro",
        "/products/category/summer-collection-2024-sale",
        "handleUserSignupButtonClickedEvent2",
        "550e8400-e29b-41d4-a716-446655440000",  # a UUID is an id, not a secret
        "4111-1111-1111-1112",  # not Luhn-valid
        "1732611600000",  # a millisecond timestamp
        "1732611600000000",  # a microsecond timestamp
        "+49 30 1234567",  # a phone number is not a card
        "order 12345",
        "user@localhost",  # no top-level domain
        "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        "abcdefghijklmnopqrstuvwxyzabcdefghij",  # long but not random
        "",
    ],
)
def test_sanitizer_keeps_ordinary_values(value):
    counts = Counter()
    assert sanitize_string(value, counts) == value
    assert sum(counts.values()) == 0


def test_random_secrets_are_redacted():
    missed = [s for s in (secrets.token_urlsafe(32) for _ in range(200)) if sanitize_string(s) != SECRET]
    missed += [s for s in (base64.b64encode(os.urandom(30)).decode() for _ in range(200)) if sanitize_string(s) != SECRET]
    missed += [s for s in (secrets.token_hex(16) for _ in range(200)) if sanitize_string(s) != SECRET]
    # base64 of 32+ random characters: a small share looks word-like and is kept
    assert len(missed) <= 6, missed


def test_luhn():
    assert luhn_valid("4111111111111111")
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")


def test_sanitize_value_recurses_and_keeps_types():
    value = {
        "email": "a.b@example.org",
        "count": 3,
        "ratio": 0.5,
        "ok": True,
        "none": None,
        "card_number": 4111111111111111,
        "created_ms": 1732611600000,
        "nested": {"list": ["x", "bob@example.com", {"k": "sk_live_abcdefghijkl"}]},
    }
    counts = Counter()
    out = sanitize_value(value, counts)
    assert out == {
        "email": EMAIL,
        "count": 3,
        "ratio": 0.5,
        "ok": True,
        "none": None,
        "card_number": CARD,
        "created_ms": 1732611600000,
        "nested": {"list": ["x", EMAIL, {"k": TOKEN}]},
    }
    assert counts == Counter({"email": 2, "card": 1, "token": 1})


def test_sanitizer_applies_to_properties_traits_and_context_traits():
    ev = {
        "type": "track",
        "event": "Checkout",
        "userId": "u1",
        "properties": {"coupon": "SAVE10", "payer": "pay@example.com"},
        "context": {"traits": {"email": "ctx@example.com"}, "userAgent": "Mozilla/5.0"},
    }
    out = apply_policy(ev, Policy())
    assert out.event["properties"] == {"coupon": "SAVE10", "payer": EMAIL}
    assert out.event["context"]["traits"] == {"email": EMAIL}
    assert out.event["context"]["userAgent"] == "Mozilla/5.0"
    assert out.redactions == Counter({"email": 2})
    # ids and the event name are not properties: kept as sent
    assert out.event["userId"] == "u1" and out.event["event"] == "Checkout"


@settings(max_examples=300, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=80),
                    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
                    max_leaves=20))
def test_sanitize_value_never_fails_and_keeps_shape(value):
    out = sanitize_value(value)
    assert type(out) is type(value) or out in (CARD,)
    if isinstance(value, dict):
        assert out.keys() == value.keys()
    if isinstance(value, list):
        assert len(out) == len(value)


# --- URLs --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url,allow,expected,removed",
    [
        ("https://ex.com/p", (), "https://ex.com/p", 0),
        ("https://ex.com/p?token=abc&utm_source=news&utm_medium=email", (), "https://ex.com/p?utm_source=news&utm_medium=email", 1),
        ("https://ex.com/p?q=shoes&page=2&email=a%40b.c", ("q",), "https://ex.com/p?q=shoes", 2),
        ("https://ex.com/p?UTM_Campaign=Fall", (), "https://ex.com/p?UTM_Campaign=Fall", 0),
        ("https://ex.com/p?a=1", (), "https://ex.com/p", 1),
        ("https://ex.com/cb#access_token=xyz&state=1", (), "https://ex.com/cb", 1),
        ("https://ex.com/pricing#team", (), "https://ex.com/pricing#team", 0),
        ("https://ex.com/s?q=a+b&utm_term=c%20d", ("q",), "https://ex.com/s?q=a+b&utm_term=c%20d", 0),
        ("/relative/path?session=1&ref=x", ("ref",), "/relative/path?ref=x", 1),
        ("https://[::1/bad?secret=1", (), "https://[::1/bad", 1),  # unparseable: cut at '?'
    ],
)
def test_strip_url(url, allow, expected, removed):
    assert strip_url(url, frozenset(allow)) == (expected, removed)


def test_filter_query_and_search():
    assert filter_query("a=1&&utm_source=x&b", frozenset()) == ("utm_source=x", 2)
    assert strip_search("?a=1&utm_medium=cpc", frozenset()) == ("?utm_medium=cpc", 1)
    assert strip_search("?a=1", frozenset()) == ("", 1)
    assert strip_search("", frozenset()) == ("", 0)


def test_url_values_in_events_lose_their_query():
    policy = Policy.build(query_allowlist=["ref"])
    ev = {
        "type": "page",
        "anonymousId": "a",
        "properties": {
            "url": "https://ex.com/welcome?invite=SECRET123&ref=hn&utm_source=tw",
            "referrer": "https://mail.example.com/read?msg=42",
            "search": "?invite=SECRET123&ref=hn",
            "path": "/welcome",
        },
        "context": {"page": {"url": "https://ex.com/welcome?invite=SECRET123", "referrer": "https://a.com/?x=1", "search": "?invite=1"}},
    }
    out = apply_policy(ev, policy)
    p = out.event["properties"]
    assert p["url"] == "https://ex.com/welcome?ref=hn&utm_source=tw"
    assert p["referrer"] == "https://mail.example.com/read"
    assert p["search"] == "?ref=hn"
    assert p["path"] == "/welcome"
    page = out.event["context"]["page"]
    assert page == {"url": "https://ex.com/welcome", "referrer": "https://a.com/", "search": ""}
    assert out.query_params_removed == 6
