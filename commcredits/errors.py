"""Named errors, and the one problem type every form and check reports. Each message says what was wrong and
what to do about it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

MAX_PROBLEMS_SHOWN = 20  # a TenantImportError's message lists this many; `problems` holds every one


@dataclass(frozen=True)
class Problem:
    """One thing wrong with what a user gave: which field, and what to do. A file's problem also says where it is
    (`record`, e.g. "users.json record 3") and whose it is (`key`, e.g. a sign-in name)."""

    field: str
    message: str
    record: str | None = None
    key: str | None = None

    def __str__(self) -> str:
        if self.record is None:
            return f"{self.field}: {self.message}"
        who = f" ({self.key})" if self.key else ""
        return f"{self.record}{who}: {self.field}: {self.message}"


class CommCreditsError(Exception):
    """Base class of every error commcredits raises on purpose."""


class InvalidInput(CommCreditsError, ValueError):
    """A value a user gave is not acceptable; `field` names it so a form can show the error beside it."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class InvalidAmount(InvalidInput):
    """An amount of money is not a positive number with at most the currency's minor-unit digits."""


class InvalidTime(InvalidInput):
    """A time is naive (no timezone) or goes back before what the ledger already recorded."""


class IdempotencyConflict(InvalidInput):
    """The same order or usage id was seen before with different details."""


class InvalidDetails(InvalidInput):
    """Several fields of a form are wrong; `problems` lists (field, message) pairs, `field` is the first."""

    def __init__(self, problems):
        self.problems = tuple(problems)
        first = self.problems[0]
        super().__init__(first.field, "; ".join(f"{p.field}: {p.message}" for p in self.problems))
        self.message = first.message


class InsufficientCredits(CommCreditsError):
    """The balance (after any auto-recharge) cannot cover a spend; nothing was recorded."""

    def __init__(self, needed, available, currency: str):
        self.needed = needed
        self.available = available
        self.currency = currency
        super().__init__(
            f"Insufficient Communication Credits: {needed} {currency} needed, {available} {currency} available. "
            "Add funds or turn on auto-recharge; nothing was recorded."
        )


class NotAllowedForAgreement(CommCreditsError):
    """The tenant's agreement type forbids this (MCA tenants buy no credits and keep auto-recharge off)."""


class LedgerBusy(CommCreditsError):
    """Another process held the ledger file for too long; nothing was changed, try again."""


class M365Error(CommCreditsError):
    """Microsoft Graph refused or failed a request; `status` and `code` are Graph's, the message is in words."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None, url: str | None = None):
        self.status = status
        self.code = code
        self.url = url
        super().__init__(message)


class PermissionMissing(M365Error):
    """Graph answered 403: the app or the signed-in admin lacks a permission."""


class NotConnected(CommCreditsError):
    """No Microsoft 365 connection is configured (tenant id, client id and a secret, certificate or credential)."""


class UnreadableFile(CommCreditsError):
    """A whole file cannot be imported; `reason` says why in words for the admin. It is quarantined."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class StalePlan(CommCreditsError):
    """The tenant changed (an import or another applied plan) since the plan was made; nothing was applied."""


class SeatsExhausted(CommCreditsError):
    """Applying the plan would assign more licenses than the tenant has free seats; nothing was applied."""


class TenantImportError(InvalidInput):
    """The tenant data has problems; nothing was imported. `problems` lists every one."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = tuple(problems)
        shown = "\n".join(f"- {p}" for p in self.problems[:MAX_PROBLEMS_SHOWN])
        more = len(self.problems) - MAX_PROBLEMS_SHOWN
        tail = f"\n- ... and {more} more" if more > 0 else ""
        field = self.problems[0].field if len(self.problems) == 1 else "import"
        count = "1 problem" if len(self.problems) == 1 else f"{len(self.problems)} problems"
        super().__init__(field, f"Nothing was imported; fix {count} and import again:\n{shown}{tail}")


class SecretStoreUnavailable(CommCreditsError):
    """No OS keyring on this machine: the secret must come from an environment variable instead."""


class CheckAlreadyRunning(CommCreditsError):
    """Another `commcredits check` is sending for this ledger; this run did nothing."""


class DeliveryError(Exception):
    """A channel refused the message or could not be reached (after retries)."""
