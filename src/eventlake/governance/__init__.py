"""Governance: who may read what. Principals' policies (row filters, column masks, the
tables a principal may see) are enforced by rewriting every query a principal writes
(`rewrite.py`) before any engine runs it."""
