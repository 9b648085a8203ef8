"""The long lists of the usage and alerts pages, as RowSources (see commcredits.rows): quarantined rows,
calls needing attention, alert messages sent."""

from __future__ import annotations

import pandas as pd

from ..rows import RowSource, sql_rows
from ..store import named_sql, store_of
from .charges import ledger_currency

_SQL = named_sql("lists_queries")


def quarantine_rows(ledger, files: set[str] | list[str]) -> RowSource:
    """Quarantined rows of the files named `files` (file names as people know them), newest first: file,
    row_number (NULL when the whole file was refused), reason, raw, quarantined_at."""
    return sql_rows(store_of(ledger), _SQL["quarantine_rows"], {"files": sorted(files)})


def quarantine_reasons(ledger, files: set[str] | list[str]) -> pd.DataFrame:
    """The quarantined rows of `files` counted by kind of reason: reason, rows (most frequent first)."""
    frame = store_of(ledger).query_df(_SQL["quarantine_reasons"], {"files": sorted(files)})
    return frame.rename(columns={"rows_": "rows"})


def attention_rows(ledger) -> RowSource:
    """Calls that need the admin (other currency, blocked, estimate only), newest first: usage_id, start_at,
    user_principal_name, status, attention_amount, currency, reason."""
    return sql_rows(store_of(ledger), _SQL["attention_rows"], {"currency": ledger_currency(ledger)})


def alert_messages(ledger) -> RowSource:
    """Alert messages sent or attempted, newest first (the `alerts_sent` view's columns people read)."""
    return sql_rows(store_of(ledger), _SQL["alert_messages"])


__all__ = ["alert_messages", "attention_rows", "quarantine_reasons", "quarantine_rows"]
