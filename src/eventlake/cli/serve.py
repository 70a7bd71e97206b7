"""`eventlake serve ...`: long-running servers (the event collector)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Optional

import typer

from ..errors import EventlakeError
from .common import err_console, state

app = typer.Typer(help="Run eventlake's servers: the event collector and the web console.", no_args_is_help=True)


def _check_port(port: int) -> None:
    if not 0 < port < 65536:
        raise EventlakeError(f"--port {port}: use a TCP port between 1 and 65535")


def _logging(log_level: str) -> str:
    """Check --log-level and send log lines to standard error at that level; the level
    in uvicorn's spelling."""
    level = log_level.lower()
    if level not in ("debug", "info", "warning", "error"):
        raise EventlakeError(f"--log-level {log_level!r}: use debug, info, warning or error")
    logging.basicConfig(stream=sys.stderr, level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return level


def _pick(module: str, wanted: str, fallback: str) -> str:
    """`wanted` when `module` can be imported, else `fallback` (with a warning)."""
    import importlib.util

    if importlib.util.find_spec(module) is not None:
        return wanted
    logging.getLogger("eventlake.serve").warning("%s is not installed: uvicorn falls back to %r", module, fallback)
    return fallback


@app.command("collector")
def collector(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (0.0.0.0: every interface)."),
    port: int = typer.Option(8088, "--port", help="TCP port to listen on."),
    raw_dir: Optional[Path] = typer.Option(None, "--raw-dir", help="Raw log folder (default: <lake>/collector/raw)."),
    load_interval: float = typer.Option(5.0, "--load-interval", help="Seconds between loads of the raw log into the lake (0: load only at start and shutdown)."),
    trust_proxy: bool = typer.Option(False, "--trust-proxy", help="Take the client address from X-Forwarded-For (behind a reverse proxy)."),
    max_in_flight: int = typer.Option(512, "--max-in-flight", help="Requests handled at once; more are answered 429."),
    max_pending_mb: float = typer.Option(32.0, "--max-pending-mb", help="MB waiting to be written before requests are answered 503."),
    min_free_mb: float = typer.Option(256.0, "--min-free-mb", help="Free disk space (MB) below which requests are answered 503."),
    fsync_by: str = typer.Option("helper", "--fsync-by", help="Who makes the raw log durable: 'helper' (a helper process fsyncs while the server goes on) or 'thread' (a writer thread of the server writes and fsyncs)."),
    loader: str = typer.Option("process", "--loader", help="Where loads into the lake run: 'process' (a child process at a lower CPU priority) or 'thread' (a thread of the server)."),
    load_max_lag: float = typer.Option(60.0, "--load-max-lag", help="Seconds a load may wait while the server is saturated (loads yield to requests; 0: never wait)."),
    loader_threads: int = typer.Option(1, "--loader-threads", help="DuckDB threads of a load into the lake (more: loads keep up better under full load, and take more CPU from the requests)."),
    log_level: str = typer.Option("info", "--log-level", help="Log level: debug, info, warning or error."),
) -> None:
    """Run the event collector: Segment-compatible HTTP API, durable raw log, loads into the lake."""
    import uvicorn

    from ..collect.app import CollectorOptions, create_app
    from ..collect.rawlog import RawLog

    _check_port(port)
    if load_interval < 0:
        raise EventlakeError("--load-interval must be 0 or more seconds")
    if max_in_flight < 1:
        raise EventlakeError("--max-in-flight must be at least 1")
    if fsync_by not in ("helper", "thread"):
        raise EventlakeError(f"--fsync-by {fsync_by!r}: use helper or thread")
    if loader not in ("process", "thread"):
        raise EventlakeError(f"--loader {loader!r}: use process or thread")
    if load_max_lag < 0:
        raise EventlakeError("--load-max-lag must be 0 or more seconds")
    if loader_threads < 1:
        raise EventlakeError("--loader-threads must be at least 1")
    level = _logging(log_level)

    lake = state.lake()
    con = lake.connect(create=True)
    try:
        with lake.writer_lock():
            lake.ensure_tables(con, ["collector_sources", "raw_events", "events", "ingested_objects", "quarantine", "ingest_runs"])
    finally:
        con.close()
    raw = (raw_dir or (lake.path / "collector" / "raw")).resolve()
    opts = CollectorOptions(
        trust_proxy=trust_proxy,
        max_in_flight=max_in_flight,
        load_interval=load_interval if load_interval > 0 else 3600.0 * 24 * 365,
        max_pending_bytes=int(max_pending_mb * 1024 * 1024),
        min_free_bytes=int(min_free_mb * 1024 * 1024),
        sync_process=fsync_by == "helper",
        load_process=loader == "process",
        loader_threads=loader_threads,
        load_max_lag=load_max_lag,
    )
    # recovery (sealing what a killed process left open) happens here, before the
    # first request; a second collector on the same raw log is refused here too
    rawlog = RawLog(
        raw,
        segment_bytes=opts.segment_bytes,
        segment_seconds=opts.segment_seconds,
        max_pending_bytes=opts.max_pending_bytes,
        min_free_bytes=opts.min_free_bytes,
        sync_process=opts.sync_process,
    )
    for path, cut in rawlog.recovered:
        err_console.print(f"recovered {path.name}" + (f" (cut {cut} unacknowledged bytes)" if cut else ""))
    from ..destinations import load_destinations
    from ..destinations.fanout import Fanout

    destinations = load_destinations(state.settings())
    fanout = Fanout(lake, destinations) if destinations else None
    if destinations:
        err_console.print("forwarding to " + ", ".join(f"{d.name} ({d.type})" for d in destinations))
    application = create_app(lake, raw, options=opts, rawlog=rawlog, fanout=fanout)
    err_console.print(f"eventlake collector on http://{host}:{port} (lake {lake.path}, raw log {raw})")
    config = uvicorn.Config(
        application,
        host=host,
        port=port,
        # the C HTTP parser and event loop (uvicorn's "auto" picks them too, when
        # installed; named here so that a missing one is a visible fallback)
        http=_pick("httptools", "httptools", "auto"),
        loop=_pick("uvloop", "uvloop", "auto"),
        proxy_headers=False,  # the app decides (--trust-proxy)
        server_header=False,
        access_log=False,
        log_level=level,
        lifespan="on",
        timeout_graceful_shutdown=30,
    )
    server = uvicorn.Server(config)
    # SIGTERM/SIGINT: uvicorn stops accepting, finishes the requests in flight, then
    # the app's shutdown writes what is queued, seals the raw log and loads it
    server.run()
    if not server.started:
        raise EventlakeError(f"the collector could not start on {host}:{port} (see the log above)")


@app.command("console")
def console_(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (0.0.0.0: every interface)."),
    port: int = typer.Option(8089, "--port", help="TCP port to listen on."),
    secure_cookies: bool = typer.Option(False, "--secure-cookies", help="Mark the session cookie Secure (when the console is reached over HTTPS)."),
    no_usage: bool = typer.Option(False, "--no-usage", help="Do not record the console's own usage in the lake."),
    sql_row_limit: int = typer.Option(1000, "--sql-row-limit", help="Most rows the SQL editor and the log explorer show."),
    sql_time_limit: float = typer.Option(30.0, "--sql-time-limit", help="Seconds after which a query from the console is stopped."),
    log_level: str = typer.Option("info", "--log-level", help="Log level: debug, info, warning or error."),
) -> None:
    """Run the web console: admin console, web analytics, log explorer, SQL editor, health."""
    import uvicorn

    from ..web.app import ConsoleOptions, create_console
    from ..web.principals import load_principals

    _check_port(port)
    if sql_row_limit < 1 or sql_time_limit <= 0:
        raise EventlakeError("--sql-row-limit and --sql-time-limit must be positive")
    level = _logging(log_level)
    lake = state.lake()
    con = lake.connect(create=True)
    try:
        with lake.writer_lock():
            lake.ensure_tables(con, ["console_users", "api_tokens", "console_events", "bi_events", "users"])
    finally:
        con.close()
    if not load_principals(lake)[0]:
        err_console.print("note: no console users yet: create one with `eventlake users add NAME --role admin`")
    opts = ConsoleOptions(secure_cookies=secure_cookies, record_usage=not no_usage, sql_row_limit=sql_row_limit, sql_time_limit=sql_time_limit)
    application = create_console(lake, opts)
    err_console.print(f"eventlake console on http://{host}:{port} (lake {lake.path})")
    server = uvicorn.Server(uvicorn.Config(application, host=host, port=port, proxy_headers=False, server_header=False,
                                           access_log=False, log_level=level, lifespan="on"))
    server.run()
    if not server.started:
        raise EventlakeError(f"the console could not start on {host}:{port} (see the log above)")
