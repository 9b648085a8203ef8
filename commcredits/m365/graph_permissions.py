"""What to register in Microsoft Entra ID, job by job, with the least permission Microsoft Graph documents for it.

Plain data, imported by the connection (the device-code scopes), the self-test (permissions.py), the Microsoft 365
page's checklist and `commcredits check-permissions`. docs/m365.md quotes Graph's pages for each row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True)
class Job:
    """One thing the workbook does in Graph, the least permission for it and the wider ones that also work."""

    key: str
    what: str
    least: str  # the permission to register
    also: frozenset[str]  # higher-privileged permissions Graph also accepts
    app_only: bool = False  # no delegated permission exists (an admin's own sign-in cannot do it)
    probe: str | None = None  # a read to try; None: judged from the token

    def satisfied_by(self, granted: set[str]) -> bool:
        return self.least in granted or bool(self.also & granted)


def pstn_probe() -> str:
    now = datetime.now(UTC).replace(microsecond=0)
    day = now - timedelta(days=1)
    return (
        f"communications/callRecords/getPstnCalls(fromDateTime={day:%Y-%m-%dT%H:%M:%SZ},"
        f"toDateTime={now:%Y-%m-%dT%H:%M:%SZ})"
    )


JOBS = (
    Job(
        "users",
        "Read users, their licenses and usage locations (List users)",
        "User.Read.All",
        frozenset({"User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}),
        probe="users?$select=id,userPrincipalName,assignedLicenses,usageLocation&$top=1",
    ),
    Job(
        "skus",
        "Read the organization's licenses and free seats (List subscribedSkus)",
        "LicenseAssignment.Read.All",
        frozenset(
            {
                "LicenseAssignment.ReadWrite.All",
                "Organization.Read.All",
                "Organization.ReadWrite.All",
                "Directory.Read.All",
                "Directory.ReadWrite.All",
            }
        ),
        probe="subscribedSkus?$select=skuId,skuPartNumber,prepaidUnits,consumedUnits",
    ),
    Job(
        "pstn_calls",
        "Read PSTN call logs (callRecord: getPstnCalls)",
        "CallRecord-PstnCalls.Read.All",
        frozenset({"CallRecords.Read.All"}),
        app_only=True,
    ),
    Job(
        "assign_licenses",
        "Assign licenses (user: assignLicense), for Apply in Microsoft 365",
        "LicenseAssignment.ReadWrite.All",
        frozenset({"User.ReadWrite.All", "Directory.ReadWrite.All"}),
    ),
    Job(
        "usage_location",
        "Set usage locations (Update user), for Apply in Microsoft 365",
        "User.ReadWrite.All",
        frozenset({"Directory.ReadWrite.All"}),
    ),
)
# What an admin signing in with a device code is asked to consent to: every job that has a delegated permission.
DELEGATED_SCOPES = [job.least for job in JOBS if not job.app_only]
