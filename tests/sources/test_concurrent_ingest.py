"""Two ingest processes over the same folder at once: the lake's writer lock makes the
second wait, so every event is loaded exactly once."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys


def test_two_concurrent_ingests_load_each_event_once(lake, tmp_path):
    logs = tmp_path / "AWSLogs" / "111122223333" / "CloudTrail" / "us-east-1" / "2026" / "03" / "01"
    logs.mkdir(parents=True)
    for f in range(20):
        recs = [{"eventID": f"f{f}-e{i}", "eventTime": "2026-03-01T10:00:00Z", "eventName": "GetObject",
                 "eventSource": "s3.amazonaws.com"} for i in range(50)]
        with gzip.open(logs / f"111122223333_CloudTrail_us-east-1_20260301T1000Z_{f:04d}.json.gz", "wt") as fh:
            json.dump({"Records": recs}, fh)
    cmd = [sys.executable, "-c", "from eventlake.cli import main; main()", "--lake", str(lake.path),
           "ingest", "cloudtrail", str(tmp_path / "AWSLogs"), "--batch-mb", "1"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    loaded = sorted(int(re.search(r"records [\d,]+ read, ([\d,]+) loaded", o).group(1).replace(",", "")) for o, _ in outs)
    assert loaded == [0, 1000]  # the second run found everything already ingested
    con = lake.connect(read_only=True)
    assert con.execute("SELECT count(*), count(DISTINCT event_id) FROM cloudtrail_events").fetchall() == [(1000, 1000)]
    assert con.execute("SELECT count(*), count(DISTINCT uri) FROM ingested_objects").fetchall() == [(20, 20)]
