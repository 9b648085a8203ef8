"""Versioned settings: tables where the latest row holds and saving appends a new version.

The agreement type, auto-recharge, billing details and alert settings are kept this way, so every earlier
value stays in the history (the ledger is append-only) and "what was in force then" can be answered. Each
table has a version column and `changed_at`; the names are fixed here, never taken from input.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

# table -> its version column (older tables call it change_id)
VERSION_COLUMN = {
    "agreement_change": "change_id",
    "auto_recharge_change": "change_id",
    "billing_change": "version",
    "alert_setting": "version",
    "tenant_setup": "change_id",
}


def _version_column(table: str) -> str:
    try:
        return VERSION_COLUMN[table]
    except KeyError:
        raise ValueError(f"{table} is not a versioned settings table") from None


def latest_setting(con, table: str, columns: Sequence[str]) -> tuple | None:
    """The latest row's `columns` of a versioned settings `table`, or None before the first save."""
    rows = con.execute(
        f"SELECT {', '.join(columns)} FROM {table} ORDER BY {_version_column(table)} DESC LIMIT 1"
    ).fetchall()
    return rows[0] if rows else None


def append_setting(con, table: str, values: Mapping[str, Any], *, unless_unchanged: bool = False) -> int:
    """Append `values` as the new version of `table` inside the caller's transaction; return the version.

    With `unless_unchanged`, values equal to the latest version's are not written again (its version is
    returned), so saving the same form twice leaves one row."""
    version_column = _version_column(table)
    names = list(values)
    rows = con.execute(
        f"SELECT {version_column}, {', '.join(names)} FROM {table} ORDER BY {version_column} DESC LIMIT 1"
    ).fetchall()
    if unless_unchanged and rows and tuple(rows[0][1:]) == tuple(values.values()):
        return rows[0][0]
    version = (rows[0][0] if rows else 0) + 1
    placeholders = ", ".join(f"${i}" for i in range(1, len(names) + 3))
    con.execute(
        f"INSERT INTO {table} ({version_column}, changed_at, {', '.join(names)}) VALUES ({placeholders})",
        [version, datetime.now(UTC), *values.values()],
    ).fetchall()
    return version


__all__ = ["VERSION_COLUMN", "append_setting", "latest_setting"]
