"""Running queries for the console: one read-only DuckDB engine on the lake shared by
every request (each query on its own cursor), with a row limit and a time limit.

The engine's connection cannot write, read files outside the lake, ATTACH, INSTALL or
change its settings (see engines/duckdb.py); only one SELECT runs per call, and
parameters are always bound.

With a `scope` (a signed-in principal's, see web/scopes.py) a query is rewritten by the
governance rewrite (masks, tenant filters, tables out of reach refused) and runs on the
scope's lake: the lake itself, or a silo tenant's own lake through a runner kept per
silo. Engine errors are then scrubbed of values."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

import duckdb
import pyarrow as pa

from ..engines.duckdb import DuckDBEngine, _clean, _only_one_select
from ..engines.guard import check_query
from ..errors import QueryError
from ..governance.policy import Scope
from ..governance.rewrite import PolicyError, rewrite, scrub_error
from ..insights import get_insight
from ..insights.registry import Insight
from ..lake import Lake

DEFAULT_ROW_LIMIT = 1000
DEFAULT_TIME_LIMIT = 30.0
PANEL_WORKERS = 4  # queries of one page run side by side
MEMO_ENTRIES = 256


@dataclass
class Result:
    """A query's answer: the rows (at most the limit), whether more existed, how long it took."""

    table: pa.Table
    sql: str
    params: dict[str, Any] = field(default_factory=dict)
    truncated: bool = False
    elapsed_ms: float = 0.0

    @property
    def columns(self) -> list[str]:
        return self.table.column_names

    @property
    def rows(self) -> list[dict[str, Any]]:
        return self.table.to_pylist()


class QueryTimeout(QueryError):
    """A query ran past its time limit and was stopped."""


class QueryRunner:
    def __init__(self, lake: Lake):
        self.lake = lake
        self._engine: DuckDBEngine | None = None
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=PANEL_WORKERS, thread_name_prefix="eventlake-console-query")
        self._memo: dict[Any, tuple[float, Any]] = {}
        self._silos: dict[str, QueryRunner] = {}

    @property
    def engine(self) -> DuckDBEngine:
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    self._engine = DuckDBEngine(self.lake)
        return self._engine

    def cursor(self) -> duckdb.DuckDBPyConnection:
        cur = self.engine.con.cursor()
        cur.execute("USE lake")
        return cur

    def on(self, lake: Lake) -> QueryRunner:
        """The runner of `lake`: this one, or one kept per silo tenant's lake."""
        key = str(lake.path.resolve())
        if key == str(self.lake.path.resolve()):
            return self
        with self._lock:
            runner = self._silos.get(key)
            if runner is None:
                runner = self._silos[key] = QueryRunner(lake)
        return runner

    def run(self, sql: str, params: dict[str, Any] | None = None, *, limit: int | None = None,
            timeout: float | None = DEFAULT_TIME_LIMIT, scope: Scope | None = None) -> Result:
        """Run one SELECT with bound `params`. At most `limit` rows are returned (`truncated`
        tells whether there were more); past `timeout` seconds the query is interrupted and
        QueryTimeout raised. With `scope`, the query runs as that principal (PolicyError
        when the policy refuses it); the Result keeps `sql` and `params` as given."""
        _only_one_select(sql)
        if scope is None:
            return self._execute(sql, params, limit, timeout)
        return self._as_principal(sql, params, limit, timeout, scope)

    def _as_principal(self, sql: str, params: dict[str, Any] | None, limit: int | None, timeout: float | None,
                      scope: Scope) -> Result:
        out, bound = rewrite(sql, scope.policy, query_params=params or {})
        try:
            res = self.on(scope.lake)._execute(out, bound, limit, timeout)
        except (PolicyError, QueryTimeout):
            raise
        except QueryError as exc:
            raise QueryError(scrub_error(str(exc))) from None
        return Result(res.table, sql, dict(params or {}), res.truncated, res.elapsed_ms)

    def _execute(self, sql: str, params: dict[str, Any] | None, limit: int | None, timeout: float | None) -> Result:
        cur = self.cursor()
        timer = None
        timed_out = threading.Event()
        if timeout:
            def stop() -> None:
                timed_out.set()
                cur.interrupt()

            timer = threading.Timer(timeout, stop)
            timer.daemon = True
            timer.start()
        t0 = time.perf_counter()
        try:
            rel = cur.execute(sql, params or None)
            if limit is None:
                table = rel.to_arrow_table()
                truncated = False
            else:
                reader = rel.to_arrow_reader(batch_size=min(max(limit + 1, 1), 100_000)) if hasattr(rel, "to_arrow_reader") else rel.fetch_record_batch(min(max(limit + 1, 1), 100_000))
                batches, n = [], 0
                for batch in reader:
                    batches.append(batch)
                    n += batch.num_rows
                    if n > limit:
                        break
                table = pa.Table.from_batches(batches, schema=reader.schema) if batches else reader.schema.empty_table()
                truncated = table.num_rows > limit
                table = table.slice(0, limit)
        except duckdb.InterruptException:
            raise QueryTimeout(f"the query ran past its time limit of {timeout:g} s and was stopped") from None
        except duckdb.Error as exc:
            if timed_out.is_set():
                raise QueryTimeout(f"the query ran past its time limit of {timeout:g} s and was stopped") from None
            raise QueryError(_clean(exc)) from None
        finally:
            if timer is not None:
                timer.cancel()
            cur.close()
        return Result(table, sql, dict(params or {}), truncated, (time.perf_counter() - t0) * 1000)

    def run_checked(self, sql: str, *, limit: int | None = None, timeout: float | None = DEFAULT_TIME_LIMIT,
                    scope: Scope | None = None) -> Result:
        """Run SQL a person wrote: one SELECT that reads lake tables by name only (no
        table functions, files or tables of secrets; see engines/guard.py). With `scope`
        the rewrite checks it instead (it refuses all the guard does, and more)."""
        _only_one_select(sql)
        if scope is not None:
            return self._as_principal(sql, None, limit, timeout, scope)
        check_query(sql, self.table_names())
        return self._execute(sql, None, limit, timeout)

    def table_names(self) -> frozenset[str]:
        """The lake's tables (looked up at most every few seconds)."""
        return self.remember("table-names", 5.0, lambda: frozenset(t for t, _ in self.tables()))

    def insight(self, name: str | Insight, values: dict[str, Any] | None = None, *, limit: int | None = None,
                timeout: float | None = DEFAULT_TIME_LIMIT, scope: Scope | None = None) -> Result:
        """Run a saved query with its parameters bound (defaults for those not given)."""
        ins = get_insight(name) if isinstance(name, str) else name
        return self.run(ins.sql, ins.bind(values), limit=limit, timeout=timeout, scope=scope)

    def gather(self, **jobs: Callable[[], Any]) -> dict[str, Any]:
        """Run a page's zero-argument jobs (queries) side by side, each on its own
        cursor; their results by name (the first error is raised)."""
        futures = {k: self._pool.submit(fn) for k, fn in jobs.items()}
        return {k: fut.result() for k, fut in futures.items()}

    def remember(self, key: Any, ttl: float, compute: Callable[[], Any]) -> Any:
        """`compute()`, or its value from the last `ttl` seconds under `key`: for lists
        that change rarely (the accounts, regions or sites in a dropdown)."""
        now = time.monotonic()
        hit = self._memo.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = compute()
        if len(self._memo) >= MEMO_ENTRIES:
            self._memo.clear()
        self._memo[key] = (now + ttl, value)
        return value

    def tables(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """Every lake table with its columns and types, by name."""
        cur = self.cursor()
        try:
            rows = cur.execute(
                "SELECT table_name, column_name, data_type FROM information_schema.columns "
                "WHERE table_catalog = 'lake' AND table_schema = 'main' ORDER BY table_name, ordinal_position"
            ).fetchall()
        finally:
            cur.close()
        out: dict[str, list[tuple[str, str]]] = {}
        for t, c, ty in rows:
            out.setdefault(t, []).append((c, ty))
        return list(out.items())

    def close(self) -> None:
        for runner in list(self._silos.values()):
            runner.close()
        self._silos.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._engine is not None:
            self._engine.close()
            self._engine = None
