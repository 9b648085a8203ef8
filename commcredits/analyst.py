"""Read-only SQL access for analysts that never locks admins out.

A DuckDB connection held open (even read-only) in a notebook would block every dashboard tab from writing.
So analysts query a snapshot: a copy of the ledger taken with one short read, opened read-only. Refresh it
when you want newer data; writing through it fails.
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from .config import database_path
from .errors import InvalidInput
from .store import Store

EXPORT_FORMATS = {".parquet": "PARQUET", ".csv": "CSV"}


def snapshot(source: str | os.PathLike | None = None, folder: str | os.PathLike | None = None) -> Path:
    """Copy the ledger (default: database_path()) into a new snapshot file and return its path."""
    origin = Path(source) if source is not None else database_path()
    if not origin.exists():
        raise InvalidInput("source", f"{origin} does not exist; build the demo with `python -m commcredits.demo`.")
    target_dir = Path(folder) if folder is not None else Path(tempfile.gettempdir()) / "commcredits-snapshots"
    target_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
    target = target_dir / f"{origin.stem}-{stamp}.duckdb"
    Store(origin).copy_to(target)
    return target


def connect_readonly(source: str | os.PathLike | None = None, folder=None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to a fresh snapshot of the ledger (UTC session time zone)."""
    con = duckdb.connect(str(snapshot(source, folder)), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    return con


def export_query(con: duckdb.DuckDBPyConnection, query: str, path: str | os.PathLike) -> Path:
    """Write the result of `query` to a .parquet or .csv file (written by DuckDB, not via pandas)."""
    target = Path(path)
    kind = EXPORT_FORMATS.get(target.suffix.lower())
    if kind is None:
        raise InvalidInput("path", f"{target.name}: export to a .parquet or .csv file.")
    target.parent.mkdir(parents=True, exist_ok=True)
    # COPY cannot bind its target as a parameter; the path is quoted as a SQL string literal
    literal = "'" + str(target).replace("'", "''") + "'"
    con.execute(f"COPY ({query}) TO {literal} (FORMAT {kind})").fetchall()
    return target
