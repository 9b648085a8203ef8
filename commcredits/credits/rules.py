"""The ledger's pure rules over plain values: aware times, request ids, when a lot expires, which lots a spend
draws (oldest first), the invoice number a purchase gets."""

from __future__ import annotations

import calendar
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import NamedTuple

from ..errors import InvalidInput, InvalidTime

LOT_TERM_MONTHS = 12
MAX_KEY_LENGTH = 200  # order and usage ids


class Allocation(NamedTuple):
    """Money a spend drew from one lot."""

    lot_id: int
    amount: Decimal


@dataclass(frozen=True)
class Lot:
    """One purchase of credit; it expires LOT_TERM_MONTHS after purchase."""

    lot_id: int
    purchased_at: datetime
    expires_at: datetime
    amount: Decimal
    source: str  # 'order' or 'auto_recharge'
    order_id: str


def require_aware(value, field: str = "at") -> datetime:
    """Return `value` in UTC; naive datetimes and non-datetimes raise InvalidTime naming `field`."""
    if not isinstance(value, datetime):
        raise InvalidTime(field, f"{value!r} is not a date and time.")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidTime(field, f"{value.isoformat()} has no timezone; give e.g. datetime(..., tzinfo=timezone.utc).")
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):  # e.g. year 9999 in a zone west of UTC
        raise InvalidTime(field, f"{value.isoformat()} is outside the dates the ledger can record.") from None


def expiry_instant(purchased_at: datetime) -> datetime:
    """The instant a lot bought at `purchased_at` expires: 12 calendar months later in UTC, end-of-month
    clamped (bought 2024-02-29 -> expires 2025-02-28)."""
    start = require_aware(purchased_at, "purchased_at")
    month_index = start.month - 1 + LOT_TERM_MONTHS
    year, month = start.year + month_index // 12, month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day)


def allocate_fifo(open_lots: Sequence[tuple[int, Decimal]], amount: Decimal) -> list[Allocation]:
    """Draw `amount` from (lot_id, remaining) pairs, oldest first. The caller checks they cover it."""
    allocations, left = [], amount
    for lot_id, remaining in open_lots:
        if left <= 0:
            break
        take = min(remaining, left)
        if take > 0:
            allocations.append(Allocation(int(lot_id), take))
            left -= take
    if left > 0:
        raise ValueError("open lots do not cover the amount")  # callers check coverage first
    return allocations


def require_key(value, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(field, "is required: give a non-empty id that is unique for this request.")
    key = value.strip()
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(field, f"is {len(key):,} characters long; ids are at most {MAX_KEY_LENGTH}.")
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: not text any database or file can hold
        raise InvalidInput(
            field, f"{key!r} contains characters that are not valid text (a broken surrogate pair)."
        ) from None
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in key):
        raise InvalidInput(field, f"{key!r} contains control characters; use letters, digits and punctuation.")
    return key


def invoice_number(lot_id: int) -> str:
    """The invoice number of the purchase that created a lot."""
    return f"INV-{lot_id:06d}"


def setting_at(timeline: Sequence[tuple], t):
    """The row of a settings `timeline` (rows starting with the time they take effect, in time order) in force at
    `t`: the latest one taking effect by then. Before the first change the first row holds: nothing says what
    was set before the workbook recorded a setting, and the first one recorded is the best guess."""
    times = [row[0] for row in timeline]
    return timeline[max(0, bisect_right(times, t) - 1)]
