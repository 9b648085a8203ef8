"""Purchases (lots) as an admin names them: Microsoft's order number for an order, "Auto-recharge" and the
call that set it off for a recharge, never the ledger's internal keys."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from ..credits.ledger import Ledger
from ..store import named_sql

_SQL = named_sql("purchases_queries")
RECHARGE_PREFIXES = {"recharge:before:": "for", "recharge:after:": "after"}
NO_USER = "an auto attendant or call queue"


def open_purchases(ledger: Ledger, lots: pd.DataFrame | None = None) -> pd.DataFrame:
    """Lots with money left that have not expired, the oldest expiry first (the one spent first), with
    `order_name`: the order number, or 'Auto-recharge after a call by Adele Vance'. `lots`: the ledger's
    lots when the caller read them already."""
    lots = ledger.lots() if lots is None else lots
    open_lots = lots[(~lots["expired"]) & (lots["remaining"] > 0)] if len(lots) else lots
    open_lots = open_lots.sort_values("expires_at").copy()
    open_lots["order_name"] = order_names(ledger, open_lots)
    return open_lots


def order_names(ledger: Ledger, lots: pd.DataFrame) -> list[str]:
    """An admin's name for each lot's order (rows of the `lots` view)."""
    recharges = lots[lots["source"] == "auto_recharge"]
    callers = _recharge_callers(ledger, recharges) if len(recharges) else {}
    return [_order_name(row.source, row.order_id, callers) for row in lots.itertuples()]


def _order_name(source: str, order_id: str, callers: dict[str, str]) -> str:
    if source != "auto_recharge":
        return order_id
    for prefix, word in RECHARGE_PREFIXES.items():
        if order_id.startswith(prefix):
            caller = callers.get(order_id)
            return f"Auto-recharge {word} a call by {caller}" if caller else f"Auto-recharge {word} a call"
    return "Auto-recharge"


def _recharge_callers(ledger: Ledger, recharges: pd.DataFrame) -> dict[str, str]:
    """order id -> who made the call behind the recharge. Calls near the purchases are looked up first (a
    recharge is bought when its call is charged, which is at the call's start or later); only a late call's
    recharge needs the look through every call."""
    keys = list(recharges["order_id"])
    until = recharges["purchased_at"].max().to_pydatetime()
    since = recharges["purchased_at"].min().to_pydatetime() - timedelta(days=1)
    found = _callers(ledger, keys, since, until)
    if len(found) < len(keys):
        found = _callers(ledger, keys, None, until)
    return found


def _callers(ledger: Ledger, keys: list[str], since: datetime | None, until: datetime) -> dict[str, str]:
    rows = ledger.store.query(_SQL["recharge_calls"], {"keys": keys, "since": since, "until": until})
    return {order_id: name if isinstance(name, str) and name else NO_USER for order_id, name, _, _ in rows}
