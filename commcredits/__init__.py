"""commcredits: Microsoft Teams Communication Credits admin workbook (licenses, funding, ledger, usage)."""

from .errors import (
    CommCreditsError,
    IdempotencyConflict,
    InsufficientCredits,
    InvalidAmount,
    InvalidInput,
    InvalidTime,
    LedgerBusy,
    NotAllowedForAgreement,
)
from .ledger import Agreement, Allocation, AutoRecharge, Ledger, Lot, open_ledger
from .money import format_money

__all__ = [
    "Agreement",
    "Allocation",
    "AutoRecharge",
    "CommCreditsError",
    "IdempotencyConflict",
    "InsufficientCredits",
    "InvalidAmount",
    "InvalidInput",
    "InvalidTime",
    "Ledger",
    "LedgerBusy",
    "Lot",
    "NotAllowedForAgreement",
    "format_money",
    "open_ledger",
]
