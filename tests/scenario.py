"""Build ledgers from readable lines, so tests read like tiny scenarios.

2025-01-10 fund 500.00 as A        -> add_funds("500.00", order_id="A")
2025-02-01 spend 12.40 as call-1    -> spend("12.40", usage_id="call-1")
2025-02-01 auto-recharge 50 below 10
2026-01-10 expire
"""

from __future__ import annotations

from datetime import UTC, datetime

import commcredits as cc


def utc(text: str) -> datetime:
    """'2025-01-10' or '2025-01-10T08:30' as an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def run(ledger: cc.Ledger, script: str) -> list:
    """Apply each line of `script` to `ledger`; return each operation's result."""
    results = []
    for line in filter(None, (raw.split("#")[0].strip() for raw in script.splitlines())):
        when, verb, *rest = line.split()
        if verb == "fund":
            results.append(ledger.add_funds(rest[0], at=utc(when), order_id=rest[2]))
        elif verb == "spend":
            results.append(ledger.spend(rest[0], at=utc(when), usage_id=rest[2]))
        elif verb == "auto-recharge":
            results.append(ledger.set_auto_recharge(amount=rest[0], below=rest[2]))
        elif verb == "expire":
            results.append(ledger.expire(utc(when)))
        else:
            raise ValueError(f"unknown scenario verb {verb!r} in {line!r}")
    return results


def ledger_from(script: str = "", **options) -> cc.Ledger:
    """A fresh in-memory ledger with `script` applied."""
    ledger = cc.open_ledger(":memory:", **options)
    run(ledger, script)
    return ledger
