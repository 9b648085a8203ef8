"""The permission self-test: for each job in `graph_permissions.JOBS`, whether this connection can do it
(granted, missing, or could not tell), and what to consent to if not.

Reads are tried for real; writing cannot be tried without changing the tenant, so it is judged from the access
token's claims.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import M365Error, PermissionMissing
from .connection import M365Connection
from .graph_permissions import JOBS, Job, pstn_probe


@dataclass(frozen=True)
class PermissionCheck:
    """One job, whether this connection can do it, and what to consent to if not."""

    what: str
    permission: str
    ok: bool | None  # None: could not tell
    detail: str


@dataclass(frozen=True)
class PermissionReport:
    checks: tuple[PermissionCheck, ...]
    mode: str

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def missing(self) -> tuple[PermissionCheck, ...]:
        return tuple(c for c in self.checks if not c.ok)

    def summary(self) -> str:
        if self.ok:
            return f"All {len(self.checks)} permissions the workbook needs are granted."
        names = ", ".join(sorted({c.permission for c in self.missing}))
        return (
            f"{len(self.missing)} of {len(self.checks)} checks failed. Grant {names} to the app registration "
            "(API permissions > Add a permission > Microsoft Graph), then Grant admin consent."
        )

    def lines(self) -> list[str]:
        return [
            f"{'ok' if c.ok else 'MISSING' if c.ok is False else '?'}: {c.what} ({c.permission}). {c.detail}"
            for c in self.checks
        ]


def _consent(permission: str, mode: str) -> str:
    kind = "Application" if mode == "app" else "Delegated"
    return (
        f"Missing {permission}. In the Microsoft Entra admin center open App registrations > this app > "
        f"API permissions > Add a permission > Microsoft Graph > {kind} permissions, add {permission}, "
        "then select Grant admin consent."
    )


def _check(connection: M365Connection, job: Job, granted: set[str] | None) -> PermissionCheck:
    if job.app_only and connection.mode == "delegated":
        return PermissionCheck(
            job.what,
            job.least,
            False,
            "Only the app registration can do this (Graph has no "
            "delegated permission for it); an admin's sign-in cannot.",
        )
    probe = pstn_probe() if job.key == "pstn_calls" else job.probe
    if probe is not None:
        try:
            connection.get(probe)
        except PermissionMissing:
            return PermissionCheck(job.what, job.least, False, _consent(job.least, connection.mode))
        except M365Error as error:
            return PermissionCheck(job.what, job.least, None, f"Could not check: {error}")
        return PermissionCheck(job.what, job.least, True, "Nothing to do: a test read worked.")
    if granted is None:
        return PermissionCheck(
            job.what, job.least, None, "The sign-in token does not say; Apply in Microsoft 365 will report it."
        )
    if job.satisfied_by(granted):
        return PermissionCheck(job.what, job.least, True, "Nothing to do: granted.")
    return PermissionCheck(job.what, job.least, False, _consent(job.least, connection.mode))


def _granted(connection: M365Connection) -> set[str] | None:
    try:
        return connection.granted()
    except Exception:  # noqa: BLE001 - an unreadable token is "could not tell", not a failure of the self-test
        return None


def check_permissions(connection: M365Connection) -> PermissionReport:
    """Each job in JOBS: granted, missing or unknown. Raises M365Error only if sign-in itself fails."""
    granted = _granted(connection)
    return PermissionReport(tuple(_check(connection, job, granted) for job in JOBS), connection.mode)
