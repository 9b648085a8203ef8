"""The permission self-test: call each Graph endpoint the workbook uses and say, in words, what is missing.

Least-privileged permissions, from Microsoft's API pages (docs/m365.md cites them):
- List users: User.Read.All (application) / User.Read.All or User.ReadBasic.All (delegated); we read licenses and
  usage locations, which need User.Read.All.
- List subscribedSkus: Organization.Read.All (or LicenseAssignment.Read.All, Directory.Read.All).
- getPstnCalls: CallRecords.Read.All, application permission only (no delegated permission exists).
- assignLicense: User.ReadWrite.All (least privileged on Microsoft's page), or Directory.ReadWrite.All; the
  issue also names LicenseAssignment.ReadWrite.All, which we accept for licenses but could not confirm on
  Microsoft's page (docs/m365.md says so). Setting the usage location (Update user) needs User.ReadWrite.All.
Writing cannot be tried without changing the tenant, so it is read from the access token's claims.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from .connection import M365Connection, M365Error, PermissionMissing

WRITE_PERMISSIONS = {"User.ReadWrite.All", "Directory.ReadWrite.All"}
LICENSE_WRITE = {"LicenseAssignment.ReadWrite.All"} | WRITE_PERMISSIONS


@dataclass(frozen=True)
class PermissionCheck:
    """One thing the workbook does, whether it works, and what to consent to if not."""

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
        return (f"{len(self.missing)} of {len(self.checks)} checks failed. Grant {names} to the app registration "
                "(API permissions > Add a permission > Microsoft Graph), then Grant admin consent.")

    def lines(self) -> list[str]:
        return [f"{'ok' if c.ok else 'MISSING' if c.ok is False else '?'}: {c.what} ({c.permission}). {c.detail}"
                for c in self.checks]


def _consent(permission: str, mode: str) -> str:
    kind = "Application" if mode == "app" else "Delegated"
    return (f"Missing {permission}. In the Microsoft Entra admin center open App registrations > this app > "
            f"API permissions > Add a permission > Microsoft Graph > {kind} permissions, add {permission}, "
            "then select Grant admin consent.")


def _try_read(connection: M365Connection, what: str, permission: str, path: str) -> PermissionCheck:
    try:
        connection.get(path)
    except PermissionMissing:
        return PermissionCheck(what, permission, False, _consent(permission, connection.mode))
    except M365Error as error:
        return PermissionCheck(what, permission, None, f"Could not check: {error}")
    return PermissionCheck(what, permission, True, "Works.")


def check_permissions(connection: M365Connection) -> PermissionReport:
    """Try each read endpoint; judge writing from the token. Raises M365Error only if sign-in itself fails."""
    checks = [
        _try_read(connection, "Read users, their licenses and usage locations", "User.Read.All",
                  "users?$select=id,userPrincipalName,assignedLicenses,usageLocation&$top=1"),
        _try_read(connection, "Read the organization's licenses and free seats (subscribedSkus)",
                  "Organization.Read.All", "subscribedSkus?$select=skuId,skuPartNumber,prepaidUnits,consumedUnits"),
    ]
    if connection.mode == "delegated":
        checks.append(PermissionCheck(
            "Read PSTN call logs (getPstnCalls)", "CallRecords.Read.All", False,
            "Call logs can only be read by the app registration (application permission CallRecords.Read.All); "
            "an admin's sign-in cannot read them. Configure the app registration for Sync."))
    else:
        now = datetime.now(timezone.utc).replace(microsecond=0)
        day = (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        checks.append(_try_read(connection, "Read PSTN call logs (getPstnCalls)", "CallRecords.Read.All",
                                f"communications/callRecords/getPstnCalls(fromDateTime={day},"
                                f"toDateTime={now.strftime('%Y-%m-%dT%H:%M:%SZ')})"))
    checks.append(_write_check(connection))
    return PermissionReport(tuple(checks), connection.mode)


def _write_check(connection: M365Connection) -> PermissionCheck:
    what = "Apply license plans (set usage locations, assign licenses)"
    wanted = "User.ReadWrite.All or LicenseAssignment.ReadWrite.All"
    try:
        granted = connection.granted()
    except Exception as error:  # noqa: BLE001 - sign-in problems are reported, not raised
        return PermissionCheck(what, wanted, None, f"Could not read the sign-in token: {error}")
    if granted is None:
        return PermissionCheck(what, wanted, None, "The token does not say; Apply in Microsoft 365 will report it.")
    if granted & WRITE_PERMISSIONS:
        return PermissionCheck(what, wanted, True, "Works (usage locations and licenses).")
    if granted & LICENSE_WRITE:
        return PermissionCheck(what, wanted, True, "Licenses can be assigned; setting a usage location also needs "
                                                   "User.ReadWrite.All, so set those in the admin center.")
    return PermissionCheck(what, wanted, False, _consent("User.ReadWrite.All (or LicenseAssignment.ReadWrite.All "
                                                         "for licenses only)", connection.mode))
