"""Long lists as pages, at the storage layer: how many rows, one page of them (SQL LIMIT/OFFSET), or all of
them for a download.

A page reads only the rows it shows, so a list of a million quarantined rows costs one page's worth of rows
to look at; the full list is read only when the admin asks for the CSV. Features build their lists from
these (usage.lists, the alerts history); ui.long_list shows any of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .store import Store


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
        return store.query_df(
            f"{statement}\nLIMIT $limit OFFSET $offset", {**params, "limit": limit, "offset": int(offset)}
        )

    return RowSource(count, page)


def frame_rows(frame: pd.DataFrame) -> RowSource:
    """A RowSource over a DataFrame already in memory (e.g. a settlement report's blocked calls)."""
    return RowSource(
        lambda: len(frame), lambda offset, limit: frame.iloc[offset : None if limit is None else offset + limit]
    )


__all__ = ["RowSource", "frame_rows", "sql_rows"]
