"""`eventlake sql`: run one SQL query on either engine."""

from __future__ import annotations

import typer

from ..engines import get_engine
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
        if token:
            from ..governance.access import prepare, principal_for_token, run_as

            principal = principal_for_token(lake, token)
            if explain:
                scope, query, bound = prepare(lake, principal, query)
                eng = get_engine(engine, scope.lake, **options)
                try:
                    console.print(eng.explain(query, bound, analyze=analyze), markup=False)
                finally:
                    eng.close()
                return
            write_result(run_as(lake, principal, engine, query, **options), fmt, output, console)
            return
        eng = get_engine(engine, lake, **options)
        try:
            if explain:
                console.print(eng.explain(query, analyze=analyze), markup=False)
                return
            result = eng.query(query)
            write_result(result, fmt, output, console)
        finally:
            eng.close()
