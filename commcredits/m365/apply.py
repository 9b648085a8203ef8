"""Apply a license plan in Microsoft 365 with JSON $batch requests, and record only what Graph applied.

The requests and their batches come from licensing/exports.py, the same code that writes the `$batch` file an
admin downloads: per user `PATCH /users/{id}` with the usage location (when the plan sets one), then
`POST /users/{id}/assignLicense`; users who need both in sequential batches, the others in parallel ones. In a sequence, a failure makes every later request fail with 424 Failed Dependency
without running it: those of other users are sent again. Requests answered 429/503/504 are sent again after
Retry-After; nothing else is retried (a 400 would fail the same way again).

Each user's outcome comes back in words; the changes Graph applied are recorded with `record_plan_done` (the same
history as "Record as done") plus who applied them (`m365_apply`, `m365_license_history`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

import pandas as pd

from ..errors import M365Error, SeatsExhausted, StalePlan
from ..licensing.catalog import license_name
from ..licensing.exports import GraphRequest, batch_body, graph_batches, graph_requests
from ..licensing.plans import Plan, record_plan_done
from ..store import named_sql, store_of
from .connection import DEFAULT_WAIT_SECONDS, RETRY_STATUSES, M365Connection, Wait, retry_after_seconds

MAX_ROUNDS = 6


@dataclass(frozen=True)
class UserResult:
    user_id: str
    user_principal_name: str
    status: str  # 'applied' | 'partly_applied' | 'failed'
    message: str
    graph_status: int | None = None
    graph_code: str | None = None


@dataclass(frozen=True)
class M365ApplyReport:
    apply_id: int
    plan_id: int | None
    applied_by: str
    results: tuple[UserResult, ...]
    changes_recorded: int
    waited_seconds: float
    note: str = ""

    @property
    def applied(self) -> tuple[UserResult, ...]:
        return tuple(r for r in self.results if r.status == "applied")

    @property
    def failed(self) -> tuple[UserResult, ...]:
        return tuple(r for r in self.results if r.status != "applied")

    def summary(self) -> str:
        n, bad = len(self.results), len(self.failed)
        head = f"Microsoft 365 applied the changes for {len(self.applied)} of {n} user{'s' if n != 1 else ''}" + (
            f"; {bad} not (see why below)." if bad else "."
        )
        return head + (f" {self.note}" if self.note else "")


@dataclass
class _Op:
    """One request of the plan (built by licensing.exports, like the downloaded $batch) and what Graph answered."""

    request: GraphRequest
    status: int | None = None
    error: tuple[int, str | None, str] | None = None  # (status, code, message)
    replication_retries: int = 0

    @property
    def user_id(self) -> str:
        return self.request.user_id

    @property
    def kind(self) -> str:
        return self.request.kind


def _ops(plan: Plan) -> dict[str, list[_Op]]:
    return {group[0].user_id: [_Op(request) for request in group] for group in graph_requests(plan) if group}


def _send_round(connection: M365Connection, pending: list[list[_Op]]) -> tuple[list[list[_Op]], float]:
    """Send every pending user's requests once; return the users to send again and how long Graph asked to wait."""
    again: list[list[_Op]] = []
    wait = 0.0
    for sequential, ops in graph_batches(pending):
        answer = connection.send("POST", "$batch", batch_body(sequential, [op.request for op in ops]))
        by_id = {str(r.get("id")): r for r in (answer or {}).get("responses", [])}
        for number, op in enumerate(ops, start=1):
            response = by_id.get(str(number), {})
            op.status = int(response.get("status", 0))
            if 200 <= op.status < 300:
                op.error = None
                continue
            error = ((response.get("body") or {}).get("error") or {}) if isinstance(response.get("body"), dict) else {}
            op.error = (op.status, error.get("code"), error.get("message") or f"status {op.status}")
            if op.status in RETRY_STATUSES:
                wait = max(
                    wait, retry_after_seconds(response.get("headers") or {}, DEFAULT_WAIT_SECONDS, connection.max_wait)
                )
        for group in _users_of(ops):
            first_failure = next((op for op in group if op.error), None)
            if first_failure is None:
                continue
            if first_failure.status in RETRY_STATUSES or (
                first_failure.status == 424 and not _own_failure(group, first_failure)
            ):
                # not run (throttled, or behind another user's failure in a sequence): safe to send again
                again.append([op for op in group if op.error])
            elif _location_not_replicated(group, first_failure):
                # the usage location was just set, but the licensing service may not see it yet (a known
                # replication delay): the only 400 sent again, twice at most, after a short wait
                first_failure.replication_retries += 1
                wait = max(wait, DEFAULT_WAIT_SECONDS)
                again.append([first_failure])
    return again, wait


def _users_of(ops: list[_Op]) -> list[list[_Op]]:
    groups: dict[str, list[_Op]] = {}
    for op in ops:
        groups.setdefault(op.user_id, []).append(op)
    return list(groups.values())


def _location_not_replicated(group: list[_Op], op: _Op) -> bool:
    location_set = any(o.kind == "location" and o.status is not None and 200 <= o.status < 300 for o in group)
    return (
        op.kind == "licenses"
        and op.status == 400
        and location_set
        and op.replication_retries < 2
        and "usage location" in (op.error[2] or "").lower()
    )


def _own_failure(group: list[_Op], op: _Op) -> bool:
    """True when a 424 comes from this user's own earlier request failing."""
    before = group[: group.index(op)]
    return any(o.error and o.status != 424 for o in before)


def explain(status: int, code: str | None, message: str, labels: dict[str, str]) -> str:
    """Graph's answer to a license change in plain words."""
    text = message or ""

    def name(match):
        sku = match.group(0).lower()
        return license_name(sku, labels.get(sku))

    guid = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    named = re.sub(guid, name, text)
    lowered = text.lower()
    if "available licenses" in lowered or "no available" in lowered or "not enough licenses" in lowered:
        return f"No free seats: {named} Buy more licenses or free some up, then apply again."
    if "usage location" in lowered:
        return (
            "Missing usage location: Microsoft 365 assigns licenses only to users with a usage location. "
            "Choose one in the plan (or set it in the admin center) and apply again."
        )
    if "mutually exclusive" in lowered or "conflicting service plans" in lowered:
        return f"These licenses cannot be held together (mutually exclusive service plans): {named}"
    if "depends on" in lowered:
        return f"A service plan in this license needs another license first (dependent service plan): {named}"
    if status == 403:
        return (
            "Permission missing: the sign-in may not change users or licenses. Grant User.ReadWrite.All "
            "(or LicenseAssignment.ReadWrite.All) and admin consent; see the Microsoft 365 page's self-test."
        )
    if status == 404:
        return "No such user in Microsoft 365 any more (deleted?). Sync, then plan again."
    if status in RETRY_STATUSES:
        return "Microsoft 365 stayed busy (throttled) and this change was not made; apply again later."
    return f"Microsoft Graph refused it ({status}{' ' + code if code else ''}): {named}"


def apply_plan_m365(
    ledger, plan: Plan, connection: M365Connection, *, progress: Callable[[str, float], None] | None = None
) -> M365ApplyReport:
    """Make the plan's changes in Microsoft 365 and record the ones Graph applied, with who applied them.

    Raises StalePlan (before sending anything) when the tenant changed since planning."""
    store = store_of(ledger)
    tell = progress or (lambda text, fraction: None)
    version = store.query(named_sql("licensing_plan")["tenant_version"])
    if version[0][0] != plan.tenant_version:
        raise StalePlan(
            "The tenant changed since this plan was made (a new import, sync or applied plan). "
            "Nothing was sent to Microsoft 365; plan again."
        )
    applied_by = connection.who()
    waited_before = connection.waited_seconds
    ops = _ops(plan)
    pending = [group for group in ops.values() if group]
    for round_no in range(1, MAX_ROUNDS + 1):
        if not pending:
            break
        tell(
            f"Sending changes for {len(pending)} user{'s' if len(pending) != 1 else ''} to Microsoft 365",
            (round_no - 1) / MAX_ROUNDS,
        )
        try:
            pending, wait = _send_round(connection, pending)
        except M365Error as error:  # Graph failed mid-way: what it applied before still gets recorded
            for group in pending:
                for op in group:
                    if op.status is None:
                        op.status, op.error = error.status or 0, (error.status or 0, error.code, str(error))
            break
        if pending and wait and round_no < MAX_ROUNDS:
            connection.pause(Wait(wait, 429, "$batch items"))
    labels = dict(store.query("SELECT sku_id, sku_part_number FROM tenant_sku"))
    results, done_rows = _outcomes(plan, ops, labels)
    recorded, plan_id, note = _record(store, plan, done_rows, applied_by)
    waited = connection.waited_seconds - waited_before
    apply_id = _record_results(store, plan, plan_id, applied_by, results, waited)
    tell("Done", 1.0)
    return M365ApplyReport(apply_id, plan_id, applied_by, tuple(results), recorded, waited, note)


def _outcomes(plan: Plan, ops: dict[str, list[_Op]], labels) -> tuple[list[UserResult], pd.Series]:
    done = pd.Series(False, index=plan.changes.index)
    results = []
    for user_id, rows in plan.changes.groupby("user_id", sort=False):
        group = ops[user_id]
        upn = rows["user_principal_name"].iloc[0]
        ok = {op.kind for op in group if op.status is not None and 200 <= op.status < 300}
        for index, action in rows["action"].items():
            done[index] = ("location" if action == "set_usage_location" else "licenses") in ok
        failure = next((op for op in group if op.error and not (op.error[0] == 424 and _own_failure(group, op))), None)
        if failure is None:
            results.append(UserResult(user_id, upn, "applied", "Applied in Microsoft 365."))
            continue
        status, code, message = failure.error
        words = explain(status, code, message, labels)
        state = "partly_applied" if ok else "failed"
        if ok:
            words = "Usage location set; licenses not changed. " + words
        results.append(UserResult(user_id, upn, state, words, status, code))
    return results, done


def _record(store, plan: Plan, done: pd.Series, applied_by: str) -> tuple[int, int | None, str]:
    rows = plan.changes[done]
    if rows.empty:
        return 0, None, "Nothing changed in Microsoft 365, so nothing was recorded."
    applied = replace(
        plan,
        changes=rows.reset_index(drop=True),
        description=f"{plan.description} (applied in Microsoft 365 by {applied_by})",
    )
    try:
        result = record_plan_done(store, applied)
    except (StalePlan, SeatsExhausted) as error:
        return (
            0,
            None,
            (
                f"The changes were made in Microsoft 365, but the workbook's copy of the tenant is out of date "
                f"({type(error).__name__}); run Sync to bring them in."
            ),
        )
    return result.changes, result.plan_id, ""


def _record_results(store, plan, plan_id, applied_by, results: list[UserResult], waited: float) -> int:
    frame = pd.DataFrame(
        [r.__dict__ for r in results],
        columns=["user_id", "user_principal_name", "status", "message", "graph_status", "graph_code"],
    )
    frame["graph_status"] = frame["graph_status"].astype("Int64")
    with store.transaction() as con:
        apply_id = con.execute("SELECT COALESCE(max(apply_id), 0) + 1 FROM m365_apply").fetchall()[0][0]
        applied = sum(r.status == "applied" for r in results)
        con.execute(
            "INSERT INTO m365_apply VALUES ($1, now(), $2, $3, $4, $5, $6, $7)",
            [apply_id, applied_by, plan_id, plan.description, applied, len(results) - applied, float(waited)],
        ).fetchall()
        con.register("_m365_results", frame)
        try:
            con.execute(
                "INSERT INTO m365_apply_result SELECT $1, user_id, user_principal_name, status, message, "
                "graph_status, graph_code FROM _m365_results",
                [apply_id],
            ).fetchall()
        finally:
            con.unregister("_m365_results")
    return apply_id
