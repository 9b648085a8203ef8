"""Each imported call as Microsoft billed it and what the ledger did with it (view `call_charges`).

Read-only questions over set-based SQL views (sql/charges_views.sql): one row per call, a count per status,
and the calls that need the admin's attention. The rules are in docs/billing.md.
"""

from __future__ import annotations

import pandas as pd

from ..credits.settlement import CALL_STATUSES as STATUSES
from ..store import store_of

# Calls Microsoft charged (or may have) that the ledger did not draw, and that settling alone will not fix; and
# calls Microsoft reported again with another charge (view call_rereports: the first report is kept).
ATTENTION = ("other_currency", "blocked", "estimate", "re_reported")
STATUS_LABELS = {
    "settled": "Settled",
    "free": "Free (charged 0.00)",
    "operator": "Billed by another operator",
    "other_currency": "Other currency",
    "blocked": "Blocked (balance too low)",
    "estimate": "Estimate only (no charge reported)",
    "pending": "Not settled yet",
    "re_reported": "Reported again with another charge",
}

COLUMNS = (
    "usage_id, start_at, user_principal_name, operator, reported_charge, currency, credits_drawn, status, "
    "reason, attention_amount, billed_in_arrears, estimate, connection_charge, days_late"
)
# The calls needing attention: statuses of call_charges_of (the ledger's currency a constant), then re-reports.
ATTENTION_ROWS = (
    f"SELECT {COLUMNS} FROM call_charges_of(true, $currency) "
    "WHERE status IN ('other_currency', 'blocked', 'estimate') "
    f"UNION ALL SELECT {COLUMNS} FROM call_rereports"
)


def call_charges(ledger) -> pd.DataFrame:
    """One row per imported call: usage_id, start_at, user_principal_name, operator, reported_charge,
    currency, credits_drawn, status (see STATUSES), reason in plain words, attention_amount (the money
    behind a call that needs the admin), billed_in_arrears (MCA), estimate (rate card, never settled) and
    connection_charge (Microsoft's connectionCharge, shown apart: never drawn on its own)."""
    return store_of(ledger).query_df(f"SELECT {COLUMNS} FROM call_charges ORDER BY start_at, usage_id")


def status_counts(ledger) -> dict[str, int]:
    """How many imported calls are in each status (every status present, zero included)."""
    counts = dict(store_of(ledger).query("SELECT status, count(*) FROM call_charges GROUP BY status"))
    return {status: int(counts.get(status, 0)) for status in STATUSES}


def calls_needing_attention(ledger) -> pd.DataFrame:
    """Calls in another currency, blocked, with only an estimate, or reported again with another charge, newest
    first: each with its amount and reason."""
    return store_of(ledger).query_df(
        f"{ATTENTION_ROWS} ORDER BY start_at DESC, usage_id", {"currency": ledger_currency(ledger)}
    )


def attention_summary(ledger) -> pd.DataFrame:
    """Per status needing attention: calls, amount and currency (one row per status and currency)."""
    return store_of(ledger).query_df(
        f"""
        SELECT status, count(*) AS calls, sum(attention_amount)::DECIMAL(18, 2) AS amount,
               coalesce(CASE WHEN status = 'estimate' THEN (SELECT currency FROM ledger_currency) END,
                        currency) AS currency
        FROM ({ATTENTION_ROWS})
        GROUP BY ALL ORDER BY status, currency
        """,
        {"currency": ledger_currency(ledger)},
    )


def ledger_currency(ledger) -> str | None:
    """The tenant's ledger currency (attention queries take it as a constant: see call_charges_of)."""
    rows = store_of(ledger).query("SELECT currency FROM ledger_currency")
    return rows[0][0] if rows else None


__all__ = [
    "ATTENTION",
    "STATUSES",
    "STATUS_LABELS",
    "attention_summary",
    "call_charges",
    "calls_needing_attention",
    "ledger_currency",
    "status_counts",
]
