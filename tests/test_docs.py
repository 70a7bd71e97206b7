"""The docs name every command, configuration option, table and insight."""

from __future__ import annotations

from pathlib import Path

import typer

from eventlake.cli import app
from eventlake.config import OPTIONS
from eventlake.lake.schema import TABLES

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _commands(group, prefix: str = "") -> list[str]:
    out = []
    if hasattr(group, "commands"):
        for name, cmd in group.commands.items():
            path = f"{prefix} {name}".strip()
            sub = _commands(cmd, path)
            out.extend(sub or [path])
    return out


def test_every_command_documented():
    text = (DOCS / "cli.md").read_text()
    commands = _commands(typer.main.get_command(app))
    assert len(commands) >= 10
    missing = [c for c in commands if f"eventlake {c}" not in text]
    assert missing == []


def test_every_command_has_help():
    root = typer.main.get_command(app)
    for path in _commands(root):
        cmd = root
        for part in path.split():
            cmd = cmd.commands[part]
        assert cmd.help and len(cmd.help) > 20, path


def test_every_config_option_documented():
    text = (DOCS / "configuration.md").read_text()
    assert [o for o in OPTIONS if f"`{o}`" not in text] == []


def test_every_table_documented():
    text = (DOCS / "tables.md").read_text()
    assert [t for t in TABLES if f"`{t}`" not in text] == []


def test_every_insight_documented():
    from eventlake.insights.registry import list_insights

    text = (DOCS / "insights.md").read_text()
    names = [i.name for i in list_insights()]
    assert len(names) >= 8
    assert [n for n in names if f"`{n}`" not in text] == []
