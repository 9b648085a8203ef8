"""Where the ledger lives: COMMCREDITS_DB (the admin's own ledger), else the demo tenant of this checkout."""

from __future__ import annotations

import os
from pathlib import Path

DEMO_DB = Path(__file__).resolve().parents[1] / "data" / "demo.duckdb"


def database_path() -> Path:
    """The ledger file the dashboard and notebooks open: COMMCREDITS_DB, else the demo (sample data)."""
    configured = os.environ.get("COMMCREDITS_DB", "").strip()
    return Path(configured).expanduser().resolve() if configured else DEMO_DB
