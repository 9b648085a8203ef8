"""Read-only SQL access for analysts that never locks admins out.

A DuckDB connection held open (even read-only) in a notebook would block every dashboard tab from writing.
So analysts query a snapshot: a copy of the ledger taken with one short read, opened read-only. Refresh it
when you want newer data; writing through it fails.
"""

from __future__ import annotations

import getpass
import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from .config import database_path
from .credits.rollups import fresh_mark
from .errors import InvalidInput
from .safety import neutralise_formula_sql
from .store import Store

EXPORT_FORMATS = {".parquet": "PARQUET", ".csv": "CSV"}


# Snapshots older than this are deleted when a new one is taken (a notebook reopens a fresh one anyway).
STALE_AFTER = timedelta(days=1)


def snapshot_folder() -> Path:
    """This user's private snapshot folder (0700) under the temp folder: a ledger copy holds billing details."""
    user = getattr(os, "getuid", lambda: None)()
    name = f"commcredits-snapshots-{user if user is not None else getpass.getuser()}"
    folder = Path(tempfile.gettempdir()) / name
    folder.mkdir(mode=0o700, exist_ok=True)
    if hasattr(os, "getuid") and folder.stat().st_uid != os.getuid():
        raise InvalidInput("folder", f"{folder} belongs to another user; pass folder= a folder of your own.")
    folder.chmod(0o700)
    return folder


def remove_stale_snapshots(folder: Path, now: datetime | None = None) -> int:
    """Delete snapshot files in `folder` older than STALE_AFTER; return how many were deleted."""
    cutoff = (now or datetime.now(UTC)).timestamp() - STALE_AFTER.total_seconds()
    removed = 0
    for path in folder.glob("*.duckdb*"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:  # another notebook cleaned it up first
            pass
    return removed


def snapshot(source: str | os.PathLike | None = None, folder: str | os.PathLike | None = None) -> Path:
    """Copy the ledger (default: database_path()) into a new snapshot file, readable only by you (0600) in
    your own folder, and return its path. Snapshots older than a day are deleted first."""
    origin = Path(source) if source is not None else database_path()
    if not origin.exists():
        raise InvalidInput("source", f"{origin} does not exist; build the demo with `python -m commcredits.demo`.")
    target_dir = Path(folder) if folder is not None else snapshot_folder()
    target_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    remove_stale_snapshots(target_dir)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    target = target_dir / f"{origin.stem}-{stamp}.duckdb"
    previous = os.umask(0o077)  # the file is private from its first byte, not only after a chmod
    try:
        store = Store(origin)
        fresh_mark(store)  # rollups up to date first: the snapshot is read-only, its views then read them as they are
        store.copy_to(target)
    finally:
        os.umask(previous)
    target.chmod(0o600)
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
    if kind == "CSV":  # a spreadsheet runs text starting with = + - @ as a formula: write it as text
        columns = con.execute(f"DESCRIBE ({query})").fetchall()
        select = ", ".join(
            f"{neutralise_formula_sql(_quoted(name))} AS {_quoted(name)}" if kind_of == "VARCHAR" else _quoted(name)
            for name, kind_of, *_ in columns
        )
        query = f"SELECT {select} FROM ({query})"
    # COPY cannot bind its target as a parameter; the path is quoted as a SQL string literal
    literal = "'" + str(target).replace("'", "''") + "'"
    con.execute(f"COPY ({query}) TO {literal} (FORMAT {kind})").fetchall()
    return target


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
