"""`eventlake groups ...`, `eventlake users ... --group`, `eventlake policies ...`."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from eventlake.cli import app
from eventlake.governance.groups import groups_of
from eventlake.governance.store import column_policies


def run(lake, *args, input=None):
    return CliRunner().invoke(app, ["--lake", str(lake.path), *args], input=input)


def ok(res) -> str:
    assert res.exit_code == 0, (res.output, res.exception)
    return res.output.strip()


def error(res) -> str:
    """The one-line message `eventlake` prints for a user error (main() prints it)."""
    assert res.exit_code == 1, res.output
    return str(res.exception)


def test_groups_commands(lake):
    assert ok(run(lake, "groups", "list")) == "no groups (create one with `eventlake groups add NAME`)"
    assert ok(run(lake, "groups", "add", "pii_readers", "--description", "cleared for PII")) == "group pii_readers added"
    assert ok(run(lake, "groups", "add", "finance")) == "group finance added"
    assert ok(run(lake, "users", "add", "dana", "--group", "pii_readers", "--group", "finance", "--password-stdin",
                  input="dana-password-1\n")) == "user dana added (reader, groups: finance, pii_readers)"
    assert ok(run(lake, "users", "add", "erin", "--password-stdin", input="erin-password-1\n")) == "user erin added (reader)"
    assert ok(run(lake, "groups", "add-member", "pii_readers", "erin")) == "erin added to group pii_readers"
    assert ok(run(lake, "groups", "add-member", "pii_readers", "erin")) == "erin is already in group pii_readers"
    listed = json.loads(ok(run(lake, "groups", "list", "--format", "json")))
    assert [(g["name"], g["description"], g["members"]) for g in listed] == [
        ("finance", "", ["dana"]), ("pii_readers", "cleared for PII", ["dana", "erin"])]
    table = ok(run(lake, "groups", "list"))
    assert "pii_readers" in table and "dana, erin" in table

    assert ok(run(lake, "groups", "remove-member", "pii_readers", "erin")) == "erin removed from group pii_readers"
    assert groups_of(lake, "erin") == frozenset()
    assert ok(run(lake, "users", "set", "dana", "--no-group", "finance")) == "user dana updated: reader, active, groups: pii_readers"
    assert ok(run(lake, "users", "set", "erin", "--group", "finance")) == "user erin updated: reader, active, groups: finance"
    users = json.loads(ok(run(lake, "users", "list", "--format", "json")))
    assert [(u["name"], u["groups"]) for u in users] == [("dana", ["pii_readers"]), ("erin", ["finance"])]


def test_groups_errors(lake):
    ok(run(lake, "groups", "add", "pii_readers"))
    assert error(run(lake, "groups", "add", "pii_readers")) == "group 'pii_readers' exists already"
    assert "group name 'no way' is invalid" in error(run(lake, "groups", "add", "no way"))
    assert error(run(lake, "groups", "add-member", "pii_readers", "ghost")) == "no console user named 'ghost' (see `eventlake users list`)"
    assert error(run(lake, "groups", "add-member", "nope", "ghost")) == "no group named 'nope' (create it with `eventlake groups add nope`)"
    # the group is checked before the password is asked for
    assert error(run(lake, "users", "add", "dana", "--group", "nope")) == "no group named 'nope' (create it with `eventlake groups add nope`)"
    ok(run(lake, "users", "add", "dana", "--password-stdin", input="dana-password-1\n"))
    assert error(run(lake, "groups", "remove-member", "pii_readers", "dana")) == "user 'dana' is not in group 'pii_readers'"
    assert error(run(lake, "users", "set", "dana", "--group", "nope")) == "no group named 'nope' (create it with `eventlake groups add nope`)"


def test_policies_commands(lake):
    assert ok(run(lake, "policies", "list")) == "no column policies (add one with `eventlake policies mask TABLE.COLUMN --mask hash`)"
    ok(run(lake, "groups", "add", "pii_readers"))
    assert ok(run(lake, "policies", "mask", "users.email", "--mask", "hash", "--except-group", "pii_readers")) == (
        "users.email masked with hash; unmasked for pii_readers")
    assert ok(run(lake, "policies", "mask", "cloudtrail_events.event_time", "--mask", "year")) == (
        "cloudtrail_events.event_time masked with year; unmasked for nobody")
    assert ok(run(lake, "policies", "mask", "events.user_id", "--mask", "left(user_id, 4) || '…'", "--as", "id")) == (
        "events.user_id masked with sql: left(user_id, 4) || '…'; unmasked for nobody")
    assert ok(run(lake, "policies", "classify", "users.email", "--as", "email")) == "users.email classified email (mask hash)"
    assert ok(run(lake, "policies", "classify", "events.title", "--as", "free_text")) == "events.title classified free_text"
    listed = json.loads(ok(run(lake, "policies", "list", "--format", "json")))
    assert [(p["table"], p["column"], p["classification"], p["mask"], p["mask_sql"], p["except_groups"]) for p in listed] == [
        ("cloudtrail_events", "event_time", None, "year", None, []),
        ("events", "title", "free_text", None, None, []),
        ("events", "user_id", "id", "sql", "left(user_id, 4) || '…'", []),
        ("users", "email", "email", "hash", None, ["pii_readers"]),
    ]
    only = json.loads(ok(run(lake, "policies", "list", "--table", "users", "--format", "json")))
    assert [p["column"] for p in only] == ["email"]
    table = ok(run(lake, "policies", "list"))
    assert "sql:" in table and "pii_readers" in table

    assert ok(run(lake, "policies", "unmask", "users.email")) == "users.email unmasked (still classified email)"
    assert ok(run(lake, "policies", "unmask", "cloudtrail_events.event_time")) == "cloudtrail_events.event_time unmasked"
    current = column_policies(lake)
    assert sorted(current) == ["events", "users"] and current["users"]["email"].mask is None


def test_policies_errors(lake):
    assert error(run(lake, "policies", "mask", "email", "--mask", "hash")) == "'email' must look like TABLE.COLUMN, e.g. users.email"
    assert error(run(lake, "policies", "mask", "userz.email", "--mask", "hash")) == "no table 'userz' in the lake; did you mean 'users'?"
    assert error(run(lake, "policies", "mask", "users.emial", "--mask", "hash")) == "table 'users' has no column 'emial'; did you mean 'email'?"
    assert error(run(lake, "policies", "mask", "users.email", "--mask", "year")) == (
        "mask year needs a DATE or TIMESTAMP column; users.email is VARCHAR")
    assert error(run(lake, "policies", "mask", "users.email", "--mask", "hash", "--except-group", "pii")) == (
        "no group named 'pii' (create it with `eventlake groups add pii`)")
    assert error(run(lake, "policies", "mask", "users.email", "--mask", "upper(user_name)")) == (
        "mask SQL for users.email may read only the column 'email', not 'user_name'")
    assert error(run(lake, "policies", "mask", "users.email", "--mask", "(SELECT max(email) FROM users)")) == (
        "mask SQL for users.email must be an expression over the column; it may not hold SUBQUERY ((SELECT MAX(email) FROM users))")
    assert error(run(lake, "policies", "mask", "users.email", "--mask", "read_text('/etc/passwd')")) == (
        "mask SQL for users.email may not call read_text()")
    assert error(run(lake, "policies", "mask", "users.email", "--mask", "email + 1")).startswith(
        "mask SQL for users.email does not run: Binder Error")
    assert error(run(lake, "policies", "classify", "users.email", "--as", "secret")) == (
        "classification 'secret' is unknown: use email, ip, name, phone, card, address, free_text, id, other")
    assert error(run(lake, "policies", "unmask", "users.email")) == "users.email has no mask (see `eventlake policies list`)"
    assert error(run(lake, "policies", "list", "--format", "xml")) == "--format 'xml': use table or json"
    assert error(run(lake, "policies", "suggest", "nope")) == "no table 'nope' in the lake (see `eventlake lake tables`)"
    assert column_policies(lake) == {}


def _fill_users(lake):
    con = lake.connect()
    con.executemany(
        "INSERT INTO lake.users (snapshot_date, account_id, user_name, email, role, groups) VALUES ('2026-03-01', '1', ?, ?, 'READER', [])",
        [[f"user{i}", f"user{i}@example.com"] for i in range(30)],
    )
    con.close()


def test_policies_suggest(lake):
    _fill_users(lake)
    rows = json.loads(ok(run(lake, "policies", "suggest", "users", "--format", "json")))
    assert rows == [
        {"column": "user_name", "classification": "name", "confidence": 0.6, "reason": "name 'user_name'", "suggested_mask": "redact"},
        {"column": "principal_id", "classification": "id", "confidence": 0.5, "reason": "name 'principal_id'", "suggested_mask": None},
        {"column": "email", "classification": "email", "confidence": 0.98,
         "reason": "name 'email' (email); email in 30/30 sampled values", "suggested_mask": "hash"},
    ]
    assert column_policies(lake) == {}  # suggest alone writes nothing
    ok(run(lake, "groups", "add", "pii_readers"))
    out = ok(run(lake, "policies", "suggest", "users", "--apply", "--except-group", "pii_readers"))
    assert out.splitlines()[-4:] == [
        "users.user_name: name at confidence 0.60 is below 0.7, not applied",
        "users.principal_id: id at confidence 0.50 is below 0.7, not applied",
        "users.email: classified email, mask hash (confidence 0.98)",
        "1 policy written",
    ]
    p = column_policies(lake)["users"]["email"]
    assert (p.classification, p.mask, p.except_groups, p.updated_by) == ("email", "hash", frozenset({"pii_readers"}), "suggest")
    again = ok(run(lake, "policies", "suggest", "users", "--apply"))
    assert "users.email: has a policy already (email, hash), kept" in again and again.endswith("0 policies written")
