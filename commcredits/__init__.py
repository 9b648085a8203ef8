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
from .config import database_path
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
    "database_path",
    "format_money",
    "open_ledger",
]
