"""`eventlake sql`: run one SQL query on either engine."""

from __future__ import annotations

import typer

from ..engines import get_engine
from ..output import write_result
from .common import ENGINE_OPTION, FORMAT_OPTION, OUTPUT_OPTION, SPARK_MASTER_OPTION, console, state


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
    ) -> None:
        """Run a SQL query over the lake with DuckDB (default) or Spark."""
        settings = state.settings()
        lake = state.lake()
        options = {"master": spark_master or settings.spark_master} if engine == "spark" else {}
        eng = get_engine(engine, lake, **options)
        try:
            if explain:
                console.print(eng.explain(query, analyze=analyze), markup=False)
                return
            result = eng.query(query)
            write_result(result, fmt, output, console)
        finally:
            eng.close()
