"""Groups and column policies as stored in the lake (governance/groups.py, store.py)."""

from __future__ import annotations

import pytest

from eventlake.governance.groups import GroupError, add_group, add_member, groups_of, load_groups, remove_member
from eventlake.governance.store import (
    ColumnPolicy,
    PolicyError,
    check_mask_sql,
    column_policies,
    load_policies,
    parse_mask,
    set_classification,
    set_mask,
    split_column,
    unmask,
)
from eventlake.web.principals import add_user, load_principals, update_user


def test_groups_and_members(lake):
    add_group(lake, "pii_readers", "cleared for personal data")
    add_group(lake, "finance")
    add_user(lake, "dana", "dana-password-1", groups=["pii_readers"])
    add_user(lake, "erin", "erin-password-1")
    assert groups_of(lake, "dana") == frozenset({"pii_readers"})
    assert groups_of(lake, "erin") == frozenset()
    assert groups_of(lake, "nobody") == frozenset()

    assert add_member(lake, "finance", "dana") is True
    assert add_member(lake, "finance", "dana") is False  # already in: nothing written
    con = lake.connect(read_only=True)
    try:
        assert groups_of(con, "dana") == frozenset({"pii_readers", "finance"})
        assert con.execute("SELECT count(*) FROM group_members WHERE user_name = 'dana'").fetchall() == [(2,)]
    finally:
        con.close()
    users = {u.name: u for u in load_principals(lake)[0]}
    assert users["dana"].groups == frozenset({"pii_readers", "finance"})
    assert users["erin"].groups == frozenset()

    remove_member(lake, "pii_readers", "dana")
    assert groups_of(lake, "dana") == frozenset({"finance"})
    add_member(lake, "pii_readers", "dana")  # back in: the latest row wins
    assert groups_of(lake, "dana") == frozenset({"pii_readers", "finance"})

    groups, members = load_groups(lake)
    assert [(g.name, g.description) for g in groups] == [("finance", ""), ("pii_readers", "cleared for personal data")]
    assert [(m.group, m.user) for m in members] == [("finance", "dana"), ("pii_readers", "dana")]


def test_update_user_groups(lake):
    add_group(lake, "a")
    add_group(lake, "b")
    add_user(lake, "dana", "dana-password-1", role="author", groups=["a"])
    u = update_user(lake, "dana", add_groups=["b"], remove_groups=["a"])
    assert u.groups == frozenset({"b"}) and u.role == "author"
    u = update_user(lake, "dana", role="admin")
    assert u.groups == frozenset({"b"}) and u.role == "admin"


def test_group_errors(lake):
    add_group(lake, "a")
    with pytest.raises(GroupError, match="group 'a' exists already"):
        add_group(lake, "a")
    with pytest.raises(GroupError, match="group name 'bad name' is invalid"):
        add_group(lake, "bad name")
    with pytest.raises(GroupError, match=r"no group named 'zz' \(create it with `eventlake groups add zz`\)"):
        add_user(lake, "dana", "dana-password-1", groups=["zz"])
    assert load_principals(lake)[0] == []  # nothing written
    with pytest.raises(GroupError, match="no console user named 'ghost'"):
        add_member(lake, "a", "ghost")
    add_user(lake, "dana", "dana-password-1")
    with pytest.raises(GroupError, match="user 'dana' is not in group 'a'"):
        remove_member(lake, "a", "dana")
    with pytest.raises(GroupError, match="group 'a' is both added and removed"):
        update_user(lake, "dana", add_groups=["a"], remove_groups=["a"])


def test_mask_classify_unmask(lake):
    add_group(lake, "pii_readers")
    p = set_mask(lake, "users", "email", "hash", except_groups=["pii_readers"])
    assert (p.table, p.column, p.mask, p.classification, p.except_groups) == ("users", "email", "hash", None, frozenset({"pii_readers"}))
    set_classification(lake, "users", "email", "email")
    set_mask(lake, "s3_access_logs", "remote_ip", "sql", mask_sql="left(remote_ip, 3) || '.x.x.x'", classification="ip")
    set_mask(lake, "cloudtrail_events", "event_date", "year")

    policies = column_policies(lake)
    assert sorted((t, c) for t, cols in policies.items() for c in cols) == [
        ("cloudtrail_events", "event_date"), ("s3_access_logs", "remote_ip"), ("users", "email")]
    email = policies["users"]["email"]
    assert (email.classification, email.mask, email.except_groups) == ("email", "hash", frozenset({"pii_readers"}))
    assert email.masked_for({"finance"}) is True and email.masked_for({"pii_readers"}) is False
    ip = policies["s3_access_logs"]["remote_ip"]
    assert (ip.mask, ip.mask_sql, ip.classification, ip.describe_mask()) == (
        "sql", "left(remote_ip, 3) || '.x.x.x'", "ip", "sql: left(remote_ip, 3) || '.x.x.x'")

    # a new mask replaces the except-groups and keeps the classification
    set_mask(lake, "users", "email", "redact")
    email = column_policies(lake)["users"]["email"]
    assert (email.classification, email.mask, email.except_groups) == ("email", "redact", frozenset())

    # unmask keeps the classification; a policy with neither ends
    assert unmask(lake, "users", "email").classification == "email"
    assert column_policies(lake)["users"]["email"].mask is None
    unmask(lake, "cloudtrail_events", "event_date")
    assert "cloudtrail_events" not in column_policies(lake)
    assert [p.key for p in load_policies(lake)] == ["s3_access_logs.remote_ip", "users.email"]
    con = lake.connect(read_only=True)
    try:  # append-only: every change is a row
        assert con.execute("SELECT count(*) FROM column_policies").fetchall() == [(7,)]
        assert column_policies(con)["users"]["email"].classification == "email"
    finally:
        con.close()


def test_policy_errors(lake):
    with pytest.raises(PolicyError, match="no table 'userz' in the lake; did you mean 'users'"):
        set_mask(lake, "userz", "email", "hash")
    with pytest.raises(PolicyError, match="table 'users' has no column 'emial'; did you mean 'email'"):
        set_mask(lake, "users", "emial", "hash")
    with pytest.raises(PolicyError, match="mask year needs a DATE or TIMESTAMP column; users.email is VARCHAR"):
        set_mask(lake, "users", "email", "year")
    with pytest.raises(GroupError, match="no group named 'pii_readers'"):
        set_mask(lake, "users", "email", "hash", except_groups=["pii_readers"])
    with pytest.raises(PolicyError, match="classification 'secret' is unknown"):
        set_classification(lake, "users", "email", "secret")
    with pytest.raises(PolicyError, match=r"users.email has no mask \(see `eventlake policies list`\)"):
        unmask(lake, "users", "email")
    with pytest.raises(PolicyError, match="mask SQL for users.email does not run: .*nosuchfn"):
        set_mask(lake, "users", "email", "sql", mask_sql="nosuchfn(email)")
    assert load_policies(lake) == []


def test_parse_mask_and_split():
    assert parse_mask("HASH") == ("hash", None)
    assert parse_mask(" last4 ") == ("last4", None)
    assert parse_mask("left(email, 2)") == ("sql", "left(email, 2)")
    assert split_column("users.email") == ("users", "email")
    with pytest.raises(PolicyError, match="'email' must look like TABLE.COLUMN"):
        split_column("email")


@pytest.mark.parametrize("sql", [
    "left(email, 2) || '***'",
    "regexp_replace(email, '@.*$', '@…')",
    "CASE WHEN email IS NULL THEN NULL ELSE md5(email) END",
    "'hidden'",
])
def test_mask_sql_accepted(sql):
    assert check_mask_sql(sql, "users", "email") == sql


@pytest.mark.parametrize("sql, message", [
    ("left(user_name, 2)", "may read only the column 'email', not 'user_name'"),
    ("users.email", "may read only the column 'email', not 'users.email'"),
    ("(SELECT max(email) FROM users)", "may not hold SUBQUERY"),
    ("read_csv('/etc/passwd')", r"may not call read_csv\(\)"),
    ("getenv('HOME')", r"may not call getenv\(\)"),
    ("email; DROP TABLE users", "must be one expression, not 2 statements"),
    ("email +", "does not parse"),
])
def test_mask_sql_refused(sql, message):
    with pytest.raises(PolicyError, match=message):
        check_mask_sql(sql, "users", "email")


def test_column_policy_defaults():
    p = ColumnPolicy("users", "email", "email")
    assert p.masked_for(set()) is False and p.describe_mask() == "" and p.key == "users.email"
