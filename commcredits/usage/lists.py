"""Long lists as pages: how many rows, one page of them (SQL LIMIT/OFFSET), or all of them for a download.

A page reads only the rows it shows, so a list of a million quarantined rows costs one page's worth of
rows to look at; the full list is read only when the admin asks for the CSV.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import pandas as pd

from ..store import Store, named_sql, store_of
from .charges import ledger_currency

_SQL = named_sql("lists_queries")


@dataclass(frozen=True)
class RowSource:
    """A long list: `count()` rows in all, `page(offset, limit)` one ordered slice (limit None: every row)."""

    count: Callable[[], int]
    page: Callable[[int, int | None], pd.DataFrame]

    def all(self) -> pd.DataFrame:
        return self.page(0, None)


def sql_rows(store: Store, statement: str, params: dict[str, Any] | None = None) -> RowSource:
    """A RowSource over an ordered SELECT (no LIMIT of its own) with named parameters."""
    params = dict(params or {})

    def count() -> int:
        return int(store.query(f"SELECT count(*) FROM ({statement})", params)[0][0])

    def page(offset: int, limit: int | None) -> pd.DataFrame:
        return store.query_df(f"{statement}\nLIMIT $limit OFFSET $offset",
                              {**params, "limit": limit, "offset": int(offset)})

    return RowSource(count, page)


def frame_rows(frame: pd.DataFrame) -> RowSource:
    """A RowSource over a DataFrame already in memory (e.g. a settlement report's blocked calls)."""
    return RowSource(lambda: len(frame),
                     lambda offset, limit: frame.iloc[offset:None if limit is None else offset + limit])


def quarantine_rows(target, files: set[str] | list[str]) -> RowSource:
    """Quarantined rows of the files named `files` (file names as people know them), newest first: file,
    row_number (NULL when the whole file was refused), reason, raw, quarantined_at."""
    return sql_rows(store_of(target), _SQL["quarantine_rows"], {"files": sorted(files)})


def quarantine_reasons(target, files: set[str] | list[str]) -> pd.DataFrame:
    """The quarantined rows of `files` counted by kind of reason: reason, rows (most frequent first)."""
    frame = store_of(target).query_df(_SQL["quarantine_reasons"], {"files": sorted(files)})
    return frame.rename(columns={"rows_": "rows"})


def attention_rows(target) -> RowSource:
    """Calls that need the admin (other currency, blocked, estimate only), newest first: usage_id, start_at,
    user_principal_name, status, attention_amount, currency, reason."""
    return sql_rows(store_of(target), _SQL["attention_rows"], {"currency": ledger_currency(target)})


def alert_messages(target) -> RowSource:
    """Alert messages sent or attempted, newest first (the `alerts_sent` view's columns people read)."""
    return sql_rows(store_of(target), _SQL["alert_messages"])


__all__ = ["alert_messages", "RowSource", "attention_rows", "frame_rows", "quarantine_reasons", "quarantine_rows", "sql_rows"]
