"""`eventlake insights ...`: list, show and run the ready-made insights."""

from __future__ import annotations

import pyarrow as pa
import typer

from ..errors import EventlakeError
from ..insights import get_insight, list_insights
from ..insights.registry import parse_date
from ..output import write_result
from .common import ENGINE_OPTION, FORMAT_OPTION, OUTPUT_OPTION, SPARK_MASTER_OPTION, TOKEN_OPTION, console, parse_params, state

app = typer.Typer(help="List and run the ready-made insights (parameterized SQL over the lake).", no_args_is_help=True)


@app.command("list")
def list_(
    fmt: str = FORMAT_OPTION,
    output: str = OUTPUT_OPTION,
    category: str = typer.Option(None, "--category", "-c", help="Only this category (bi, cloudtrail, s3-access, vpc-flow, alb, cloudfront, ...)."),
) -> None:
    """List the insights with their category, parameters (type and default) and description."""
    insights = list_insights()
    if category:
        known = sorted({i.category for i in insights})
        insights = [i for i in insights if i.category == category]
        if not insights:
            raise EventlakeError(f"no insights in category {category!r}; categories: {', '.join(known)}")
    table = pa.table(
        {
            "name": [i.name for i in insights],
            "category": [i.category for i in insights],
            "params": [", ".join(p.describe() for p in i.params) for i in insights],
            "description": [i.description for i in insights],
        }
    )
    write_result(table, fmt, output, console, title="insights")


@app.command("show")
def show(name: str = typer.Argument(..., help="Insight name (see `eventlake insights list`).")) -> None:
    """Print an insight's parameters and SQL."""
    console.print(get_insight(name).text, markup=False, highlight=False, end="")


@app.command("run")
def run(
    name: str = typer.Argument(..., help="Insight name (see `eventlake insights list`)."),
    param: list[str] = typer.Option(None, "--param", "-p", help="Parameter as key=value; repeat for several."),
    as_of: str = typer.Option(None, "--as-of", help="Day the insight's window ends (YYYY-MM-DD or today; default today, UTC)."),
    fmt: str = FORMAT_OPTION,
    output: str = OUTPUT_OPTION,
    engine: str = ENGINE_OPTION,
    spark_master: str = SPARK_MASTER_OPTION,
    token: str = TOKEN_OPTION,
) -> None:
    """Run an insight over the lake and print or save its result."""
    insight = get_insight(name)
    params = insight.bind(parse_params(param), parse_date(as_of, "--as-of") if as_of else None)
    lake = state.lake()
    options = {"master": spark_master or state.settings().spark_master} if engine == "spark" else {}
    from ..governance.access import principal_for_token, run_as

    principal = principal_for_token(lake, token) if token else None
    result = run_as(lake, principal, engine, insight.sql, params, action="export" if output else "query", target=name,
                    detail={"file": output, "format": fmt if output else None}, **options)
    shown = ", ".join(f"{k}={v.isoformat() if hasattr(v, 'isoformat') else v}" for k, v in params.items())
    write_result(result, fmt, output, console, title=f"{name} ({shown})" if shown else name)
