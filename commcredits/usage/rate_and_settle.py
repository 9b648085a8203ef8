"""Rate, then settle: the one way the Usage page, the Microsoft 365 sync and the demo turn imported calls
into ledger entries. Rating prices only what changed (rows without Microsoft's charge get estimates, which are
never settled); settlement then draws what Microsoft charged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..credits.ledger import Ledger
from ..credits.settlement import SettlementReport, settle
from .rating import RatingReport, rate_calls


@dataclass(frozen=True)
class RatedAndSettled:
    """What one run did: the rating of the new calls and the settlement of what Microsoft charged."""

    rating: RatingReport
    settlement: SettlementReport


def rate_and_settle(ledger: Ledger, *, until: datetime | None = None) -> RatedAndSettled:
    """Rate the calls not rated yet, then settle the calls up to `until` (default: all). Each step is its own
    transaction: a settlement that fails leaves the ratings, which are derived data, and no ledger entry."""
    rating = rate_calls(ledger)
    return RatedAndSettled(rating, settle(ledger, until=until))


__all__ = ["RatedAndSettled", "rate_and_settle"]
