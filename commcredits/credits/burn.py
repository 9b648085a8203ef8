"""The recent daily spend ("daily burn"): one definition for the runway, the alerts and the Step 2 guard rails.

Issue 20 found two: 90 days up to now (funding) and 30 days up to the last entry (insights). They disagreed,
so a guard rail and the runway card could describe the same tenant differently. This is the only one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from .ledger import Ledger, require_aware

BURN_WINDOW_DAYS = 30  # recent enough to follow a change in calling, long enough to smooth out weekends


def daily_burn(ledger: Ledger, *, as_of: datetime | None = None, days: int = BURN_WINDOW_DAYS) -> Decimal:
    """Credits spent per day, averaged over the `days` days up to `as_of` (default: now). 0 without spending."""
    end = require_aware(as_of, "as_of") if as_of is not None else datetime.now(UTC)
    (spent,) = ledger.store.query(
        "SELECT coalesce(-sum(amount), 0) FROM entry WHERE kind = 'spend' AND occurred_at > $1 AND occurred_at <= $2",
        [end - timedelta(days=days), end],
    )[0]
    return Decimal(spent) / days
