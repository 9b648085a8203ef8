"""Read the facts the checks need from the ledger and the tenant tables (read-only, a handful of queries)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from decimal import Decimal

from ..credits.ledger import Ledger, current_agreement, current_auto_recharge, require_aware
from ..store import named_sql
from ..usage import insights
from .model import Facts, TollFreeNumber

QUERIES = named_sql("alerts_queries")


def read_facts(
    ledger: Ledger, *, now: datetime | None = None, locale: str | None = None, run=None, expiring=None
) -> Facts:
    """Everything the checks look at, as of `now` (default: the current time). The alert queries share one
    short read-only connection (opening the file is the expensive part). `run`, `expiring`: insights.runway and
    insights.expiring_funds as of `now`, if the caller (the Overview) worked them out already."""
    now = require_aware(now or datetime.now(UTC), "now")
    run = insights.runway(ledger, as_of=now) if run is None else run
    expiring = insights.expiring_funds(ledger, as_of=now) if expiring is None else expiring
    with ledger.store.reading() as con:
        auto, agreement = current_auto_recharge(con), current_agreement(con)
        (funded,) = _query(con, "funded")[0]
        last = _query(con, "last_run")
        last_at, last_not_ready = last[0] if last else (None, None)
        read = {**_recharge_facts(con, now), **_readiness_facts(con), **_usage_facts(con, now, last_at)}
    return Facts(
        as_of=now,
        currency=ledger.currency,
        agreement=agreement.value,
        funded=bool(funded),
        balance=run.balance,
        daily_burn=run.daily_burn,
        auto_recharge_on=auto.enabled,
        recharge_amount=auto.amount,
        recharge_below=auto.below,
        days_to_trigger=run.days_to_trigger,
        days_to_zero=run.days_to_zero,
        expiring=[(int(r.horizon_days), r.expiring, r.likely_forfeited) for r in expiring.itertuples()],
        not_ready_last_check=last_not_ready,
        last_check_at=last_at,
        locale=locale or os.environ.get("COMMCREDITS_LOCALE", "en_US"),
        **read,
    )


def _query(con, name: str, params=None) -> list[tuple]:
    return con.execute(QUERIES[name], params or []).fetchall()


def _recharge_facts(con, now: datetime) -> dict:
    """Recharges in the last 24 hours, this calendar month (UTC) and since the tenant switched to MCA."""
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    mca_since = _query(con, "mca_since")
    recharges_24h, month_total, since_mca = _query(
        con, "recharges", [now, month_start, mca_since[0][0] if mca_since else None]
    )[0]
    return {
        "recharges_24h": recharges_24h,
        "recharged_this_month": Decimal(month_total),
        "recharges_since_mca": since_mca,
    }


def _readiness_facts(con) -> dict:
    """Who cannot dial out, of how many, per reason in words (most users first)."""
    texts = {code: (many, one) for code, many, one in _query(con, "reason_texts")}
    readiness = _query(con, "readiness")
    _, not_ready, calling, _ = readiness[0]
    reasons = [(n, texts[code][1] if n == 1 else texts[code][0]) for code, n, _, _ in readiness[1:]]
    return {
        "calling_users": calling,
        "not_ready": not_ready,
        "not_ready_reasons": sorted(reasons, key=lambda r: -r[0]),
        "top_reason": max(readiness[1:], key=lambda r: (r[1], -r[3]))[0] if len(readiness) > 1 else None,
    }


def _usage_facts(con, now: datetime, last_check_at: datetime | None) -> dict:
    """Toll-free numbers with their recent calls, and how current the imported call logs are."""
    toll_free = [
        TollFreeNumber(number, account, calls, Decimal(charged))
        for number, account, calls, charged in _query(con, "toll_free", [now])
    ]
    imported, last_import, newest_call, quarantined, quarantined_new, blocked, blocked_new = _query(
        con, "usage_freshness", [now, last_check_at]
    )[0]
    return {
        "toll_free": toll_free,
        "calls_imported": imported,
        "last_import_at": last_import,
        "newest_call_at": newest_call,
        "quarantined_recent": quarantined,
        "quarantined_since_check": quarantined_new,
        "blocked_recent": blocked,
        "blocked_since_check": blocked_new,
    }
