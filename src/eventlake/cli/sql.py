"""`eventlake sql`: run one SQL query on either engine."""

from __future__ import annotations

import typer

from ..engines import get_engine
from ..errors import EventlakeError, QueryError
from ..output import write_result
from .common import ENGINE_OPTION, FORMAT_OPTION, OUTPUT_OPTION, SPARK_MASTER_OPTION, TOKEN_OPTION, console, state


def register(app: typer.Typer) -> None:
    @app.command("sql")
    def sql(
        query: str = typer.Argument(..., help="SQL in DuckDB's dialect; tables are the lake's tables (see `eventlake lake tables`)."),
        engine: str = ENGINE_OPTION,
        fmt: str = FORMAT_OPTION,
        output: str = OUTPUT_OPTION,
        spark_master: str = SPARK_MASTER_OPTION,
        explain: bool = typer.Option(False, "--explain", help="Print the engine's query plan instead of running it."),
        analyze: bool = typer.Option(False, "--analyze", help="With --explain: run the query and show what each step did (DuckDB: rows, time, data files read after date pruning)."),
        token: str = TOKEN_OPTION,
    ) -> None:
        """Run a SQL query over the lake with DuckDB (default) or Spark."""
        settings = state.settings()
        lake = state.lake()
        options = {"master": spark_master or settings.spark_master} if engine == "spark" else {}
        from ..governance import audit
        from ..governance.access import prepare, principal_for_token, query_event, refused, run_as
        from ..governance.rewrite import scrub_error

        principal = principal_for_token(lake, token) if token else None
        if "audit_events" in audit.tables_of(query):
            audit.commit(lake)  # the trail as of now, journal included
        if explain:
            event = query_event(principal, query, action="explain", engine=engine, analyze=analyze)
            try:
                scope, sql, bound = prepare(lake, principal, query) if principal else (None, query, None)
                eng = get_engine(engine, scope.lake if scope else lake, **options)
                try:
                    plan = eng.explain(sql, bound, analyze=analyze)
                finally:
                    eng.close()
            except EventlakeError as exc:
                if principal is not None and type(exc) is QueryError:  # an engine error may echo a value
                    exc = QueryError(scrub_error(str(exc)))
                audit.record(lake, refused(event, exc))
                raise exc from None
            audit.record(lake, event)
            console.print(plan, markup=False)
            return
        result = run_as(lake, principal, engine, query, action="export" if output else "query",
                        detail={"file": output, "format": fmt if output else None}, **options)
        write_result(result, fmt, output, console)
