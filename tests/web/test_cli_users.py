"""`eventlake users ...` and `eventlake tokens ...`."""

from __future__ import annotations

import json
import re

from typer.testing import CliRunner

from eventlake.cli import app
from eventlake.web.principals import Principals, load_principals


def run(lake, *args, input=None):
    return CliRunner().invoke(app, ["--lake", str(lake.path), *args], input=input)


def error(res) -> str:
    """The one-line message `eventlake` prints for a user error (main() prints it)."""
    assert res.exit_code == 1, res.output
    return str(res.exception)


def test_users_add_list_set(lake):
    res = run(lake, "users", "add", "dana", "--role", "author", "--email", "dana@example.com", "--password-stdin", input="dana-password-1\n")
    assert res.exit_code == 0, res.output
    assert res.output.strip() == "user dana added (author)"
    listed = json.loads(run(lake, "users", "list", "--format", "json").output)
    assert [(u["name"], u["role"], u["email"], u["status"], u["tokens"]) for u in listed] == [("dana", "author", "dana@example.com", "active", 0)]
    assert "argon2" not in run(lake, "users", "list").output
    users, _ = load_principals(lake)
    assert users[0].password_hash.startswith("$argon2id$") and "dana-password-1" not in users[0].password_hash
    assert Principals(lake).login("dana", "dana-password-1").role == "author"
    assert Principals(lake).login("dana", "dana-password-2") is None

    again = run(lake, "users", "add", "dana", "--password-stdin", input="another-pass-1\n")
    assert "console user 'dana' exists already" in error(again)

    res = run(lake, "users", "set", "dana", "--role", "admin", "--disable")
    assert res.exit_code == 0 and res.output.strip() == "user dana updated: admin, disabled"
    assert Principals(lake).login("dana", "dana-password-1") is None
    res = run(lake, "users", "set", "dana", "--enable", "--password-stdin", input="new-password-9\n")
    assert res.exit_code == 0
    assert Principals(lake).login("dana", "new-password-9").role == "admin"
    # the console's users are a BI users snapshot of account 'eventlake'
    con = lake.connect(read_only=True)
    snap = con.execute(
        "SELECT user_name, role, active FROM users WHERE account_id = 'eventlake' "
        "QUALIFY snapshot_time = max(snapshot_time) OVER ()"
    ).fetchall()
    con.close()
    assert snap == [("dana", "ADMIN", True)]


def test_users_add_refuses_bad_input(lake):
    short = run(lake, "users", "add", "erin", "--password-stdin", input="short\n")
    assert "the password is too short: use at least 8 characters" in error(short)
    bad_name = run(lake, "users", "add", "<erin>", "--password-stdin", input="long-enough-1\n")
    assert "user name '<erin>' is invalid" in error(bad_name)
    bad_role = run(lake, "users", "add", "erin", "--role", "owner", "--password-stdin", input="long-enough-1\n")
    assert "role 'owner' is unknown: use reader, author, admin" in error(bad_role)
    no_tty = run(lake, "users", "add", "erin", input="long-enough-1\n")
    assert "pipe it in with --password-stdin" in error(no_tty)
    assert load_principals(lake)[0] == []


def test_tokens_shown_once_hashed_and_revocable(lake):
    run(lake, "users", "add", "frank", "--password-stdin", input="frank-password\n")
    res = run(lake, "tokens", "add", "--user", "frank", "--note", "grafana")
    assert res.exit_code == 0, res.output
    token = res.output.strip().splitlines()[-1]
    m = re.fullmatch(r"elk_([0-9a-f]{8})_[A-Za-z0-9_-]{43}", token)
    assert m, token
    token_id = m.group(1)
    listed = run(lake, "tokens", "list", "--format", "json")
    rows = json.loads(listed.output)
    assert [(t["token_id"], t["user"], t["note"], t["status"]) for t in rows] == [(token_id, "frank", "grafana", "active")]
    assert token not in listed.output and token not in run(lake, "tokens", "list").output
    con = lake.connect(read_only=True)
    stored = con.execute("SELECT token_hash FROM api_tokens").fetchall()
    con.close()
    assert len(stored) == 1 and len(stored[0][0]) == 64 and token not in stored[0][0]
    assert Principals(lake).token_user(token)[0].name == "frank"

    assert run(lake, "tokens", "revoke", token_id).output.strip() == f"token {token_id} of frank revoked"
    assert Principals(lake).token_user(token) is None
    assert json.loads(run(lake, "tokens", "list", "--format", "json").output)[0]["status"] == "revoked"
    nobody = run(lake, "tokens", "add", "--user", "ghost")
    assert "no active console user named 'ghost'" in error(nobody)
    unknown = run(lake, "tokens", "revoke", "deadbeef")
    assert "no API token with id 'deadbeef'" in error(unknown)
