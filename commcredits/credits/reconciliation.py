"""Compare the ledger with the balance the Microsoft 365 admin center shows, and say why they differ.

No Microsoft API gives the Communication Credits balance, so the admin reads it in the admin center (Billing >
Your products) and types it in. `reconcile` returns the ledger's balance at that instant (`expected`), the
difference, and plain sentences with amounts for what usually explains it: calls made after the last imported
call (at the recent burn), imported calls the ledger did not draw (pending, blocked, estimate-only, other
currency), purchases or recharges Microsoft recorded that are not here, and purchases recorded here that
Microsoft's balance does not hold. Every reconciliation is kept
(table `reconciliation`, view `reconciliations`). Rules and sources: docs/billing.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from ..money import currency_exponent, format_money, parse_amount, quantize
from .ledger import SQL as LEDGER_SQL
from .ledger import Ledger, current_auto_recharge, require_aware

BURN_DAYS = 30

# Imported calls the ledger did not draw, by status and currency, up to the instant compared.
UNDRAWN = """
SELECT status, currency, count(*), coalesce(sum(attention_amount), 0)
FROM call_charges
WHERE status IN ('pending', 'blocked', 'estimate', 'other_currency') AND start_at <= $1
GROUP BY ALL ORDER BY status, currency
"""

# Amounts that may explain a difference but are not drawn: connection fees of calls Microsoft charged (it is silent
# on whether `charge` includes connectionCharge) and re-reported calls (later charge minus the kept first one).
POSSIBLE = """
SELECT 'connection_fees', count(*), coalesce(sum(connection_charge), 0) FROM pstn_call
WHERE connection_charge > 0 AND currency = $2 AND start_at <= $1 AND (operator IS NULL OR operator ILIKE 'microsoft')
UNION ALL
SELECT 're_reported', count(*), coalesce(sum(difference), 0) FROM call_rereports
WHERE start_at <= $1 AND currency = $2 AND kept_currency = $2
"""

# The last imported call up to the instant, and credits spent in the BURN_DAYS before it.
RECENT = """
WITH last AS (SELECT max(start_at) AS t FROM pstn_call WHERE start_at <= $1)
SELECT last.t,
       (SELECT coalesce(-sum(amount), 0) FROM entry
        WHERE kind = 'spend' AND occurred_at > last.t - to_days($2) AND occurred_at <= last.t)
FROM last
"""


@dataclass(frozen=True)
class Explanation:
    """One reason for a difference, in plain words. `amount`: how much it moves Microsoft's balance below the
    ledger's (None when it does not count in this currency or has no amount)."""

    kind: str  # 'after_last_call' | 'pending' | 'blocked' | 'estimate' | 'other_currency' | 'not_recorded' | ...
    text: str
    amount: Decimal | None = None


@dataclass(frozen=True)
class Reconciliation:
    """The ledger against the admin center at `at`: expected (ledger), shown (Microsoft), their difference,
    the explanations, and what they leave unexplained (shown - expected + what they account for)."""

    at: datetime
    currency: str
    expected: Decimal
    shown: Decimal
    difference: Decimal
    unexplained: Decimal
    explanations: list[Explanation] = field(default_factory=list)
    reconciliation_id: int | None = None

    @property
    def matches(self) -> bool:
        return self.difference == 0


def reconcile(ledger: Ledger, shown_balance, *, at: datetime | None = None, locale: str = "en_US") -> Reconciliation:
    """Compare the ledger's balance at `at` (None: now) with `shown_balance`, the balance the admin reads in
    the Microsoft 365 admin center; keep the result and return it. Raises InvalidAmount naming
    `shown_balance` (not a number, negative, too many decimals) and InvalidTime naming `at`."""
    currency = ledger.currency
    shown = parse_amount(shown_balance, currency, "shown_balance", allow_zero=True)
    when = datetime.now(UTC) if at is None else require_aware(at, "at")
    money = lambda v: format_money(v, currency, locale)  # noqa: E731
    with ledger.store.transaction() as con:
        (expected,) = con.execute(LEDGER_SQL["balance_at"], [when]).fetchall()[0]
        expected = quantize(expected, currency)
        undrawn = con.execute(UNDRAWN, [when]).fetchall()
        last_call, spent = con.execute(RECENT, [when, BURN_DAYS]).fetchall()[0]
        auto = current_auto_recharge(con)
        difference = shown - expected
        explanations = _explain(currency, when, last_call, Decimal(spent), undrawn, money, locale)
        explanations += _possible(con.execute(POSSIBLE, [when, currency]).fetchall(), money)
        accounted = sum((e.amount for e in explanations if e.amount is not None), Decimal(0))
        unexplained = difference + accounted
        explanations += _residual(unexplained, difference, auto, money)
        (number,) = con.execute("SELECT COALESCE(max(reconciliation_id), 0) + 1 FROM reconciliation").fetchall()[0]
        con.execute(
            "INSERT INTO reconciliation VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            [
                number,
                when,
                shown,
                expected,
                difference,
                unexplained,
                "\n".join(e.text for e in explanations),
                datetime.now(UTC),
            ],
        ).fetchall()
    return Reconciliation(when, currency, expected, shown, difference, unexplained, explanations, number)


def _explain(currency, when, last_call, spent, undrawn, money, locale) -> list[Explanation]:
    out = _since_last_call(currency, when, last_call, spent, money)
    for status, row_currency, calls, amount in undrawn:
        explanation = _undrawn(
            status, f"{calls} call{'s' if calls != 1 else ''}", row_currency, amount, currency, money, locale
        )
        if explanation is not None:
            out.append(explanation)
    return out


def _since_last_call(currency, when, last_call, spent, money) -> list[Explanation]:
    """No call log at all, or calls after the last imported one estimated at the recent burn."""
    if last_call is None:
        return [
            Explanation(
                "no_call_log",
                "No call log is imported up to this date, so no call is in the "
                "ledger: import Microsoft's PSTN call log on the Usage page.",
            )
        ]
    gap = when - last_call
    burn = spent / BURN_DAYS
    days = Decimal(gap.total_seconds()) / 86400
    estimate = (burn * days).quantize(Decimal(1).scaleb(-currency_exponent(currency)), ROUND_HALF_UP)
    if gap <= timedelta(hours=1) or estimate <= 0:
        return []
    return [
        Explanation(
            "after_last_call",
            f"Calls after the last imported call ({last_call.astimezone(UTC):%Y-%m-%d %H:%M} UTC, "
            f"{days:.1f} days before): about "
            f"{money(estimate)} at the recent burn of {money(quantize(burn, currency))} a day. Import the newer "
            "call log (Microsoft's report lags 24-48 hours).",
            estimate,
        )
    ]


def _undrawn(status, n, row_currency, amount, currency, money, locale) -> Explanation | None:
    """Calls in the log that did not draw on this ledger, by why (`n`: "3 calls")."""
    if status == "other_currency":
        return Explanation(
            status,
            f"{n} charged in {row_currency} ({format_money(amount, row_currency, locale)}) "
            f"are not drawn here (the ledger keeps {currency} only); if Microsoft "
            f"drew them from your credits, its balance is lower by their value in "
            f"{currency}.",
        )
    if status == "pending":
        return Explanation(
            status,
            f"{n} Microsoft charged ({money(amount)}) are imported but not settled yet: settle them on the Usage page.",
            Decimal(amount),
        )
    if status == "blocked":
        return Explanation(
            status,
            f"{n} Microsoft charged ({money(amount)}) could not be paid from this "
            "ledger's balance: Microsoft's balance paid them, so a purchase or "
            "recharge is probably missing here.",
            Decimal(amount),
        )
    if status == "estimate":
        return Explanation(
            status,
            f"{n} have no charge from Microsoft yet: about {money(amount)} by the rate card (an estimate).",
            Decimal(amount),
        )
    return None


def _possible(rows, money) -> list[Explanation]:
    """Connection fees and re-reported calls: listed with their total, not counted (they may or may not differ)."""
    out = []
    for kind, calls, amount in rows:
        n = f"{calls} call{'s' if calls != 1 else ''}"
        if kind == "connection_fees" and calls:
            out.append(
                Explanation(
                    kind,
                    f"{n} carry a connection fee Microsoft reports apart from the charge "
                    f"({money(amount)} in all). Microsoft does not say whether the charge "
                    "includes it; if not, its balance may be lower by up to that amount.",
                )
            )
        elif kind == "re_reported" and calls:
            out.append(
                Explanation(
                    kind,
                    f"{n} Microsoft reported again with another charge ({money(amount)} more "
                    "than the first reports, which the ledger keeps): see the calls needing "
                    "attention on the Usage page.",
                )
            )
    return out


def _residual(unexplained: Decimal, difference: Decimal, auto, money) -> list[Explanation]:
    if difference == 0 and unexplained == 0:
        return [Explanation("match", "The ledger matches the admin center.")]
    if unexplained > 0:
        text = (
            f"{money(unexplained)} more than the reasons above explain: a purchase or auto-recharge Microsoft "
            "shows that is not recorded here. Compare the invoices in the admin center with Step 2."
        )
        if auto.enabled and auto.amount and unexplained >= auto.amount:
            count = int(unexplained // auto.amount)
            text += (
                f" Auto-recharge adds {money(auto.amount)}: that is about {count} recharge{'s' if count != 1 else ''}."
            )
        return [Explanation("not_recorded", text)]
    if unexplained < 0:
        return [
            Explanation(
                "not_explained",
                f"{money(-unexplained)} less than the reasons above explain: "
                "purchases recorded here but not in Microsoft's balance (compare each "
                "Step 2 record with Microsoft's invoices), calls missing from the "
                "imported call logs, or lots Microsoft expired that the ledger still "
                "holds. Import the complete period.",
            )
        ]
    return []


def reconciliations(ledger: Ledger):
    """Every reconciliation kept, newest first."""
    return ledger.store.query_df("SELECT * FROM reconciliations")


__all__ = ["Explanation", "Reconciliation", "reconcile", "reconciliations"]
