"""Sync from Microsoft 365: users and their licenses, subscribed SKUs (seats), and PSTN call logs.

Everything goes through the same paths as files: Graph's pages of users and subscribedSkus go to
`import_graph_tenant` (the function a file import calls), each getPstnCalls page is written as the Graph JSON
file it is and imported by `import_pstn_calls`, then `rate_and_settle` runs as after a file import. So a
sync and a file import of the same calls give the same ledger.

Call logs are asked for in windows of at most 90 days (Graph refuses longer ones), following @odata.nextLink.
Each window is marked done in `m365_sync_window` once all its pages are imported; the next sync starts at the
end of the last window done less a look-back (72 hours unless COMMCREDITS_SYNC_LOOKBACK_HOURS says otherwise):
Microsoft's PSTN usage data "usually reflect a 24 to 48 hour latency", so rows appear inside windows already
read. Rows are keyed on Graph's row id and the ledger on usage ids, so a page read twice imports and charges
nothing twice; the rows found in the look-back are counted as late.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from ..credits.settlement import SettlementReport
from ..errors import InvalidInput, InvalidTime
from ..licensing.tenant import import_graph_tenant
from ..money import format_money
from ..store import store_of
from ..usage.call_import import ImportReport, import_pstn_calls
from ..usage.rate_and_settle import rate_and_settle
from .connection import M365Connection

USER_FIELDS = ["id", "userPrincipalName", "displayName", "department", "country", "usageLocation", "assignedLicenses"]
SKU_FIELDS = ["skuId", "skuPartNumber", "prepaidUnits", "consumedUnits", "capabilityStatus", "servicePlans"]
MAX_WINDOW = timedelta(days=90)  # getPstnCalls: fromDateTime and toDateTime at most 90 days apart
FIRST_SYNC_DAYS = 90  # with no sync and no call in the ledger yet, read this far back
USERS_PAGE = 999  # the largest $top Graph allows for users
LOOKBACK_ENV = "COMMCREDITS_SYNC_LOOKBACK_HOURS"
DEFAULT_LOOKBACK_HOURS = 72  # Microsoft states 24 to 48 hours of latency; 72 leaves a day of margin

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class SyncReport:
    """What a sync brought. `summary()` is the one line the CLI prints and the page shows."""

    run_id: int
    calls_from: datetime
    calls_to: datetime
    users: int | None = None
    skus: int | None = None
    license_changes: int | None = None
    windows: int = 0
    pages: int = 0
    calls: ImportReport = field(default_factory=ImportReport)
    settled: SettlementReport | None = None
    waited_seconds: float = 0.0
    currency: str = "USD"
    late_rows: int = 0  # new rows whose call was inside windows an earlier sync had already read

    def summary(self) -> str:
        parts = []
        if self.users is not None:
            parts.append(f"{self.users} users, {self.skus} subscriptions, {self.license_changes} license changes")
        c = self.calls
        parts.append(
            f"calls {self.calls_from:%Y-%m-%d %H:%M} to {self.calls_to:%Y-%m-%d %H:%M} UTC: {c.imported} new, "
            f"{c.duplicates} already known, {c.quarantined} quarantined"
        )
        if self.late_rows:
            parts.append(f"{self.late_rows} of the new calls reported late (in the look-back)")
        if self.settled is not None:
            s = self.settled
            parts.append(
                f"{s.settled} settled for {format_money(s.amount, self.currency)}"
                + (f", {s.blocked} blocked (balance too low)" if s.blocked else "")
            )
        if self.waited_seconds:
            parts.append(f"waited {self.waited_seconds:.0f} s for Microsoft Graph throttling")
        return "Synced: " + "; ".join(parts) + "."


def call_windows(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """[start, end] cut into consecutive windows of at most 90 days (each ends where the next starts)."""
    windows, cursor = [], start
    while cursor < end:
        stop = min(cursor + MAX_WINDOW, end)
        windows.append((cursor, stop))
        cursor = stop
    return windows


def lookback(hours: float | None = None) -> timedelta:
    """How far before the last window done a sync reads again: `hours`, else COMMCREDITS_SYNC_LOOKBACK_HOURS,
    else 72 hours. Raises InvalidInput for a value that is not a number of hours from 0 to 2160 (90 days)."""
    raw = os.environ.get(LOOKBACK_ENV, "") if hours is None else hours
    if raw in ("", None):
        return timedelta(hours=DEFAULT_LOOKBACK_HOURS)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = -1
    if not 0 <= value <= 24 * 90:
        raise InvalidInput(LOOKBACK_ENV, f"{raw!r} is not a number of hours from 0 to 2160 (90 days), e.g. 72.")
    return timedelta(hours=value)


def _resume_point(store) -> datetime | None:
    """Where the next sync starts reading call logs: the end of the last window done, else the day of the newest
    call already imported (from files), else None."""
    done = store.query("SELECT max(window_to) FROM m365_sync_window")[0][0]
    if done is not None:
        return done
    newest = store.query("SELECT max(start_at) FROM pstn_call")[0][0]
    if newest is None:
        return None
    return datetime.combine(newest.astimezone(UTC).date(), time(), tzinfo=UTC)


def _graph_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _pstn_request(start: datetime, end: datetime) -> str:
    # The documented URL. The SDK's request builder for this function drops the comma between the two
    # parameters (msgraph-sdk-python issue #1234), which Graph refuses; the request still goes through the SDK.
    return f"communications/callRecords/getPstnCalls(fromDateTime={_graph_time(start)},toDateTime={_graph_time(end)})"


def _users_request(connection: M365Connection):
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.users.users_request_builder import UsersRequestBuilder

    query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(select=USER_FIELDS, top=USERS_PAGE)
    return connection.client().users.to_get_request_information(RequestConfiguration(query_parameters=query))


def sync_m365(
    ledger,
    connection: M365Connection,
    *,
    since: datetime | None = None,
    progress: Progress | None = None,
    now: datetime | None = None,
    tenant: bool = True,
    calls: bool = True,
    lookback_hours: float | None = None,
) -> SyncReport:
    """Bring users, licenses, seats and call logs from Microsoft 365 into the ledger; rate and settle the calls.

    `since`: read call logs from this (aware) time instead of where the last sync stopped (less the look-back,
    `lookback_hours` or see `lookback`). `progress(text, fraction)` is told what is happening. Raises M365Error
    (after recording the run as failed) when Graph refuses; the windows already done stay done, and the next
    sync resumes after them."""
    store = ledger.store
    tell = progress or (lambda text, fraction: None)
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    if since is not None and since.tzinfo is None:
        raise InvalidTime("since", "give a time with a timezone, e.g. 2026-01-01T00:00:00+00:00")
    read_before = _resume_point(store)  # calls before it were asked for already: new ones there came late
    again = lookback(lookback_hours)
    start = since or (read_before - again if read_before else now - timedelta(days=FIRST_SYNC_DAYS))
    start = min(start.astimezone(UTC), now)
    imports_from = datetime.now(UTC)
    windows = call_windows(start, now) if calls else []
    waited_before = connection.waited_seconds
    run_id = _start_run(store, start, now, connection.who())
    report = SyncReport(run_id, start, now, currency=ledger.currency)
    try:
        if tenant:
            report = _sync_tenant(ledger, connection, report, tell)
        report = _sync_calls(ledger, connection, windows, report, tell)
        report = _with(report, late_rows=_late_rows(store, imports_from, read_before))
        tell("Rating and settling calls", 0.92)
        settled = rate_and_settle(ledger).settlement
        report = _with(report, settled=settled, waited_seconds=connection.waited_seconds - waited_before)
    except BaseException as error:
        report = _with(report, waited_seconds=connection.waited_seconds - waited_before)
        _finish(store, report, "failed", str(error).splitlines()[0] if str(error) else type(error).__name__)
        raise
    _finish(store, report, "ok", report.summary())
    tell(report.summary(), 1.0)
    return report


def _sync_tenant(ledger, connection: M365Connection, report: SyncReport, tell: Progress) -> SyncReport:
    """Users, licenses and seats read from Graph and imported as a file import of the same pages would be."""
    tell("Reading users and licenses from Microsoft 365", 0.0)
    users = list(connection.pages(_users_request(connection)))
    tell("Reading subscriptions and seats", 0.05)
    skus = list(connection.pages("subscribedSkus?$select=" + ",".join(SKU_FIELDS)))
    result = import_graph_tenant(ledger, users, skus, source="Microsoft Graph sync")
    return _with(report, users=result.users, skus=result.skus, license_changes=result.changes)


def _sync_calls(ledger, connection: M365Connection, windows, report: SyncReport, tell: Progress) -> SyncReport:
    """Every window's call-log pages imported (through a scratch folder, as the Graph JSON files they are)."""
    with tempfile.TemporaryDirectory(prefix="commcredits-sync-") as folder:
        for number, (a, b) in enumerate(windows):
            report = _sync_window(
                ledger,
                connection,
                report.run_id,
                a,
                b,
                Path(folder),
                report,
                lambda text, part, number=number: tell(text, 0.1 + 0.8 * (number + part) / len(windows)),
            )
    return report


def _sync_window(ledger, connection, run_id, start, end, folder: Path, report: SyncReport, tell) -> SyncReport:
    pages = rows = 0
    label = f"Call logs {start:%d %b %Y} to {end:%d %b %Y}"
    tell(label, 0.0)
    for page in connection.pages(_pstn_request(start, end)):
        pages += 1
        # the page as the Graph JSON file an admin would export, imported by the file path
        path = folder / f"getPstnCalls-{_graph_time(start)[:10]}-{_graph_time(end)[:10]}-page-{pages:04d}.json"
        path.write_text(json.dumps(page), encoding="utf-8")
        imported = import_pstn_calls(ledger, path, progress=False)
        path.unlink()
        rows += len(page.get("value") or [])
        report = _with(report, pages=report.pages + 1, calls=report.calls + imported)
        tell(f"{label}: page {pages}, {rows:,} calls", min(0.9, pages / (pages + 1)))
    with ledger.store.transaction() as con:
        con.execute(
            "INSERT INTO m365_sync_window VALUES ($1, $2, $3, $4, $5, now())", [run_id, start, end, pages, rows]
        ).fetchall()
    return _with(report, windows=report.windows + 1)


def _late_rows(store, imported_since: datetime, read_before: datetime | None) -> int:
    """Calls this sync imported whose start lies before where earlier syncs had read to: reported late."""
    if read_before is None:
        return 0
    return store.query(
        "SELECT count(*) FROM pstn_call WHERE imported_at >= $1 AND start_at < $2", [imported_since, read_before]
    )[0][0]


def _with(report: SyncReport, **changes) -> SyncReport:
    from dataclasses import replace

    return replace(report, **changes)


def _start_run(store, start: datetime, end: datetime, who: str) -> int:
    with store.transaction() as con:
        run_id = con.execute("SELECT COALESCE(max(run_id), 0) + 1 FROM m365_sync_run").fetchall()[0][0]
        con.execute("INSERT INTO m365_sync_run VALUES ($1, now(), $2, $3, $4)", [run_id, start, end, who]).fetchall()
    return run_id


def _finish(store, report: SyncReport, status: str, message: str) -> None:
    s = report.settled
    with store.transaction() as con:
        con.execute(
            "INSERT INTO m365_sync_result VALUES ($1, now(), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            [
                report.run_id,
                status,
                report.users,
                report.skus,
                report.license_changes,
                report.calls.imported,
                report.calls.duplicates,
                report.calls.quarantined,
                s.settled if s else 0,
                s.amount if s else Decimal(0),
                float(report.waited_seconds),
                message,
            ],
        ).fetchall()


def last_sync(ledger) -> dict | None:
    """The newest sync as a dict of the m365_syncs view, or None."""
    frame = store_of(ledger).query_df("SELECT * FROM m365_syncs LIMIT 1")
    return None if frame.empty else frame.iloc[0].to_dict()
