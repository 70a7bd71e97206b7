"""The lake: a DuckLake catalog plus Parquet data files, and the tables eventlake defines."""

from .catalog import Lake, open_lake
from .schema import TABLES, TableDef

__all__ = ["Lake", "open_lake", "TABLES", "TableDef"]
