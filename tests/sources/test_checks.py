"""`check`: arrival of a day's objects against the reference day, per account /
region / resource / hour from the key layout, and the record rules of the type
(on the toy type of tests/sources/toy.py, whose keys use Hive-style folders)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from eventlake.sources.checks import check
from tests.sources.toy import Toy

D = dt.date(2024, 5, 2)


def put(root: Path, account: str, region: str, day: str, hour: int, body: str, name: str = "part.log") -> None:
    y, m, d = day.split("-")
    p = root / f"aws-account-id={account}" / f"aws-region={region}" / f"year={y}" / f"month={m}" / f"day={d}" / f"hour={hour:02d}" / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(body)


def results(report) -> dict[str, tuple[str, str]]:
    return {r.check: (r.status, r.detail) for r in report.results}


def test_complete_day_passes(tmp_path):
    for day in ("2024-05-01", "2024-05-02"):
        for hour in (0, 1):
            put(tmp_path, "111122223333", "us-east-1", day, hour, f"{day}T0{hour}:00:00Z 1\n")
    report = check(Toy(), [str(tmp_path)], D)
    assert not report.failed
    got = results(report)
    assert got["objects arrived"] == ("ok", "2 objects dated 2024-05-02 (at least 1 expected); 2 on 2024-05-01")
    assert got["every source delivered"] == ("ok", "2 groups (account, region, resource, hour) seen on 2024-05-01, 0 missing on 2024-05-02")
    assert got["parses"] == ("ok", "2 records, 0 do not parse")
    assert got["value_not_negative"] == ("ok", "value is 0 or more: 0 of 2 records break it")


def test_missing_hour_and_region_and_bad_records_fail(tmp_path):
    for hour in (0, 1, 2):
        put(tmp_path, "111122223333", "us-east-1", "2024-05-01", hour, "2024-05-01T00:00:00Z 1\n")
    put(tmp_path, "111122223333", "eu-west-1", "2024-05-01", 0, "2024-05-01T00:00:00Z 1\n")
    put(tmp_path, "111122223333", "us-east-1", "2024-05-02", 0, "2024-05-02T00:00:00Z 1\n2024-05-02T00:00:01Z -5\nnot a record\n")
    put(tmp_path, "111122223333", "us-east-1", "2024-05-02", 2, "2031-01-01T00:00:00Z 3\n")
    report = check(Toy(), [str(tmp_path)], D)
    assert report.failed
    got = results(report)
    assert got["every source delivered"] == (
        "fail",
        "4 groups (account, region, resource, hour) seen on 2024-05-01, 2 missing on 2024-05-02: "
        "account=111122223333, region=eu-west-1, resource=?, hour=0; account=111122223333, region=us-east-1, resource=?, hour=1",
    )
    status, detail = got["parses"]
    assert status == "fail" and detail.startswith("4 records, 1 do not parse: ")
    assert detail.endswith("hour=00/part.log at line 3: ts not is not a timestamp")
    status, detail = got["value_not_negative"]
    assert status == "fail" and detail.startswith("value is 0 or more: 1 of 3 records break it (e.g. ")
    assert detail.endswith("hour=00/part.log line 2)")
    assert got["not_in_future"][0] == "fail"


def test_coarser_grouping_and_reference_day(tmp_path):
    put(tmp_path, "111122223333", "us-east-1", "2024-04-25", 5, "2024-04-25T05:00:00Z 1\n")
    put(tmp_path, "111122223333", "us-east-1", "2024-05-02", 9, "2024-05-02T09:00:00Z 1\n")
    put(tmp_path, "444455556666", "us-east-1", "2024-04-25", 5, "2024-04-25T05:00:00Z 1\n")
    report = check(Toy(), [str(tmp_path)], D, reference_days=7, by=("account",), rules=False)
    got = results(report)
    assert got["every source delivered"] == ("fail", "2 groups (account) seen on 2024-04-25, 1 missing on 2024-05-02: account=444455556666")
    assert "parses" not in got


def test_nothing_arrived(tmp_path):
    put(tmp_path, "111122223333", "us-east-1", "2024-05-01", 0, "2024-05-01T00:00:00Z 1\n")
    (tmp_path / "undated.log").write_text("2024-05-02T00:00:00Z 1\n")
    got = results(check(Toy(), [str(tmp_path)], D))
    assert got["objects arrived"] == ("fail", "0 objects dated 2024-05-02 (at least 1 expected); 1 on 2024-05-01")
    assert got["every source delivered"][0] == "fail"
    assert got["objects dated by their key"] == ("warn", "1 objects have no date in their key or folder; arrival cannot be checked for them")
