"""Query engines. DuckDB runs in-process (the default); Spark runs the same SQL,
translated with sqlglot, when one machine is not enough. Each engine returns
results as a pyarrow Table so every output format works the same for both."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import pyarrow as pa

from ..errors import EngineUnavailable

if TYPE_CHECKING:
    from ..lake import Lake

ENGINES = ("duckdb", "spark")


class Engine(Protocol):
    """A SQL engine over the lake's tables."""

    name: str

    def query(self, sql: str, params: dict | None = None) -> pa.Table:
        """Run one SELECT written in DuckDB's dialect with named $parameters bound."""
        ...

    def explain(self, sql: str, params: dict | None = None, analyze: bool = False) -> str:
        """The engine's plan for the query; `analyze` runs it (DuckDB) and adds what
        each step did, e.g. the data files a scan read after partition pruning."""
        ...

    def close(self) -> None:
        """Release the engine's resources."""
        ...


def get_engine(name: str, lake: "Lake", **options) -> Engine:
    """The engine called `name` over `lake`."""
    if name == "duckdb":
        from .duckdb import DuckDBEngine

        return DuckDBEngine(lake)
    if name == "spark":
        from .spark import SparkEngine

        return SparkEngine(lake, **options)
    raise EngineUnavailable(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}")
