"""Settings resolution: option > environment > eventlake.toml > default."""

from __future__ import annotations

import pytest

from eventlake.config import load_settings
from eventlake.errors import ConfigError


def test_default_lake_is_eventlake_data(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EVENTLAKE_LAKE", raising=False)
    monkeypatch.delenv("EVENTLAKE_CONFIG", raising=False)
    s = load_settings()
    assert s.lake_path == tmp_path / "eventlake-data"
    assert (s.catalog, s.batch_mb, s.memory_mb, s.spark_master) == ("sqlite", 512, 384, "local[2]")


def test_precedence(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "eventlake.toml").write_text('[lake]\npath = "from-toml"\n[ingest]\nbatch_mb = 32\n')
    monkeypatch.delenv("EVENTLAKE_LAKE", raising=False)
    assert load_settings().lake_path == tmp_path / "from-toml"
    assert load_settings().batch_mb == 32
    monkeypatch.setenv("EVENTLAKE_LAKE", str(tmp_path / "from-env"))
    assert load_settings().lake_path == tmp_path / "from-env"
    assert load_settings(lake=str(tmp_path / "from-option")).lake_path == tmp_path / "from-option"


def test_bad_config_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EVENTLAKE_LAKE", raising=False)
    (tmp_path / "eventlake.toml").write_text("[lake\n")
    with pytest.raises(ConfigError, match="eventlake.toml: invalid TOML"):
        load_settings()
    (tmp_path / "eventlake.toml").write_text('[ingest]\nbatch_mb = "big"\n')
    with pytest.raises(ConfigError, match="batch_mb .* must be a positive integer"):
        load_settings()
    (tmp_path / "eventlake.toml").write_text("")
    with pytest.raises(ConfigError, match="catalog 'mysql' .* must be"):
        load_settings(catalog="mysql")
