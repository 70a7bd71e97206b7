"""eventlake: a self-hosted usage-analytics lakehouse."""

__version__ = "0.1.0"
