"""Ready-made insights: one `.sql` file each in this package, listed and run through
the registry (`list_insights`, `get_insight`, `run_insight`)."""

from .registry import Insight, Param, get_insight, list_insights, parse_insight, run_insight

__all__ = ["Insight", "Param", "get_insight", "list_insights", "parse_insight", "run_insight"]
