"""Plans of license changes: who gets which license (and usage location) to be able to dial out.

A plan is computed set-based in DuckDB from the tenant snapshot and checked against the rules before anything
is written: no more licenses than free seats; a Calling Plan only with Teams Phone; a usage location before any
license; Communication Credits only for users who have (or get) Audio Conferencing or a Calling Plan.
Applying a plan records it (append-only) and updates the snapshot in one transaction. What a plan is asked for
(`Selection`, `Change`) is in `plan_request`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import pandas as pd
import pyarrow as pa

from ..credits.ledger import Ledger
from ..errors import SeatsExhausted, StalePlan
from ..store import Store, named_sql, store_of
from .catalog import Capability, is_bundle, license_name, load_catalog
from .plan_request import (  # noqa: F401 - the request types and their constructors are imported from here
    Change,
    Selection,
    add_audio_conferencing,
    add_communication_credits,
    add_teams_phone_and_calling_plan,
    as_selection,
    capabilities_of,
    make_ready,
    validate_change,
)
from .plan_words import count_phrase, left_out_table, problem_sentences, split_problems, users_phrase, why_text
from .tenant_store import staged

_SQL = named_sql("licensing_plan")
MCA_NO_CREDITS = (
    "No Communication Credits license is planned: on a Microsoft Customer Agreement (MCA) credits are "
    "not sold and calls beyond the included minutes are billed after use."
)


@dataclass(frozen=True, eq=False)
class Plan:
    """A reviewable plan. `changes`: one row per change; `problems`: plain-language sentences; `skipped`:
    one row per user and problem. Nothing is written until record_plan_done."""

    description: str
    changes: pd.DataFrame
    problems: tuple[str, ...]
    skipped: pd.DataFrame
    tenant_version: int
    change: Change = field(default_factory=Change)
    # Issue: a user must never read as both "in the plan" and "left out". `left_out` explains only the users
    # the plan changes nothing for; `missing` says, per user in the plan, what they still lack after it.
    left_out: tuple[str, ...] = ()
    missing: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # every user left out, one row each (display_name, user_principal_name, why): the sentences name a few
    left_out_users: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["display_name", "user_principal_name", "why"])
    )

    @property
    def nothing_to_do(self) -> bool:
        return self.changes.empty

    @property
    def users(self) -> int:
        return int(self.changes["user_id"].nunique())

    def summary(self) -> str:
        if self.nothing_to_do:
            head = "Nothing to do."
        else:
            counts = self.changes.groupby("action").size()
            head = (
                f"{users_phrase(self.users)}: {count_phrase(counts.get('add_license', 0), 'license')} to add, "
                f"{counts.get('remove_license', 0)} to remove, "
                f"{count_phrase(counts.get('set_usage_location', 0), 'usage location')} to set."
            )
        return head + "".join(f"\n- {p}" for p in self.problems)


@dataclass(frozen=True)
class AppliedPlan:
    plan_id: int | None
    changes: int


# ---------------------------------------------------------------------------------------------- products


def _sku_capabilities(store: Store, sku_id: str) -> set[str]:
    """What a product grants, by the tenant's service plans or the catalog."""
    store_plans: dict[str, set[str]] = {}
    for sku, capability in store.query("SELECT sku_id, capability FROM sku_plan WHERE sku_id = $sku", {"sku": sku_id}):
        store_plans.setdefault(sku, set()).add(capability)
    return capabilities_of(sku_id, store_plans)


def _use_owned_bundle(store: Store, change: Change) -> Change:
    """A tenant that owns Teams Phone and a Calling Plan only as one bundle (Teams Phone with Calling Plan,
    Business Voice) plans with that bundle: one skuId, one seat, instead of standalone seats it does not have."""
    wants_both = (change.teams_phone and change.calling_plan) or change.calling_if_missing == "calling_plan"
    if not wants_both or is_bundle(_sku_capabilities(store, change.calling_plan_sku.lower())):
        return change
    free = dict(store.query("SELECT sku_id, free_units FROM sku_seats"))
    if free.get(change.teams_phone_sku.lower(), 0) > 0 and free.get(change.calling_plan_sku.lower(), 0) > 0:
        return change
    bundles = store.query(
        "SELECT sku_id FROM license_seats WHERE is_bundle AND free_units > 0 ORDER BY free_units DESC, sku_id LIMIT 1"
    )
    return replace(change, calling_plan_sku=bundles[0][0]) if bundles else change


# ---------------------------------------------------------------------------------------------- planning


def _labels(store: Store) -> dict[str, str]:
    """skuId -> skuPartNumber, for the tenant's SKUs and the catalog's."""
    labels = {p.sku_id: p.sku_part_number for p in load_catalog().products.values()}
    labels |= dict(store.query("SELECT sku_id, sku_part_number FROM tenant_sku"))
    return labels


def plan_license_changes(ledger: Ledger, selection, change: Change) -> Plan:
    """Compute (without writing anything) the license changes `change` needs for the selected users.

    `selection`: a Selection, a list of sign-in names, 'everyone' or 'not_ready'.
    Raises InvalidInput when the Change itself is not usable.
    """
    store = store_of(ledger)
    sel = as_selection(selection)
    validate_change(change, store)
    change = _use_owned_bundle(store, change)
    (billed_after_use,) = store.query("SELECT billed_in_arrears FROM funding_status")[0]
    params = _plan_parameters(store, sel, change, billed_after_use)
    with store.reading() as con:
        version = con.execute(_SQL["tenant_version"]).fetchall()[0][0]
        rows = con.execute(_SQL["plan_license_changes"], params).df()
        funded = con.execute("SELECT has_credit_seats FROM funding_status").fetchall()[0][0]
    notes = (MCA_NO_CREDITS,) if change.communication_credits and billed_after_use else ()
    return _plan_from_rows(
        rows, f"{change.describe()} for {sel.describe()}", int(version), change, _labels(store), funded, notes
    )


def _plan_parameters(store: Store, sel: Selection, change: Change, billed_after_use: bool) -> dict:
    """The bound parameters of the `plan_license_changes` statement for this selection and change."""
    cp_capabilities = _sku_capabilities(store, change.calling_plan_sku.lower())
    return {
        "upns": list(sel.upns or []),
        "filter_upns": sel.upns is not None,
        "department": sel.department or "",
        "not_ready_only": sel.not_ready_only,
        "include_resource_accounts": sel.include_resource_accounts,
        "want_ac": change.audio_conferencing,
        "want_tp": change.teams_phone,
        "want_cp": change.calling_plan,
        # MCA tenants cannot buy credits and need no credits license: calls beyond the included minutes are
        # billed after use, so a plan never assigns one there
        "want_cc": change.communication_credits and not billed_after_use,
        "calling_if_missing": change.calling_if_missing or "",
        "teams_phone_for_calling_plans": change.teams_phone_for_calling_plans,
        "usage_location": (change.usage_location or "").upper(),
        "tp_sku": change.teams_phone_sku.lower(),
        "cp_sku": change.calling_plan_sku.lower(),
        "ac_sku": change.audio_conferencing_sku.lower(),
        "cc_sku": change.communication_credits_sku.lower(),
        "remove_skus": [s.lower() for s in change.remove_skus],
        "cp_bundle": is_bundle(cp_capabilities),
        "cp_is_payg": Capability.PAY_AS_YOU_GO_CALLING_PLAN.value in cp_capabilities,
    }


def _changes_table(changes: pd.DataFrame, labels: dict[str, str]) -> pd.DataFrame:
    """The plan's changes as the table an admin reviews, one row per change, each with why it is made."""
    return pd.DataFrame(
        {
            "user_principal_name": changes["user_principal_name"],
            "display_name": changes["display_name"],
            "action": changes["action"],
            "sku_id": changes["sku_id"],
            "sku_part_number": changes["sku_id"].map(labels),
            "disabled_plans": changes["disabled_plans"].map(lambda v: [] if v is None or v is pd.NA else list(v)),
            "usage_location": changes["usage_location"],
            "why": changes["code"].map(why_text),
            "user_id": changes["user_id"],
        }
    )


def _plan_from_rows(
    rows: pd.DataFrame,
    description: str,
    version: int,
    change: Change,
    labels: dict[str, str],
    funded: bool,
    notes: tuple[str, ...],
) -> Plan:
    """The Plan from the planning statement's rows (kind: change, problem or remaining), with its problems in
    words followed by `notes`."""
    changes = _changes_table(rows[rows["kind"] == "change"].reset_index(drop=True), labels)
    skipped = rows[rows["kind"] == "problem"][["user_principal_name", "display_name", "code", "sku_id", "user_id"]]
    skipped = skipped.reset_index(drop=True)
    changed_users = set(changes["user_id"])
    left_out, missing = split_problems(skipped, rows[rows["kind"] == "remaining"], changed_users, labels, funded)
    return Plan(
        description,
        changes,
        problem_sentences(skipped, labels, funded) + notes,
        skipped,
        version,
        change,
        left_out,
        missing,
        left_out_table(skipped, changed_users, labels, funded),
    )


# ---------------------------------------------------------------------------------------------- applying

_ITEM_SCHEMA = pa.schema(
    [
        ("item_no", pa.int64()),
        ("user_id", pa.string()),
        ("user_principal_name", pa.string()),
        ("action", pa.string()),
        ("sku_id", pa.string()),
        ("disabled_plans", pa.list_(pa.string())),
        ("usage_location", pa.string()),
    ]
)


def _items(plan: Plan) -> pa.Table:
    c = plan.changes
    return pa.Table.from_pydict(
        {
            "item_no": list(range(1, len(c) + 1)),
            "user_id": c["user_id"].tolist(),
            "user_principal_name": c["user_principal_name"].tolist(),
            "action": c["action"].tolist(),
            "sku_id": [None if pd.isna(v) else v for v in c["sku_id"].tolist()],
            "disabled_plans": [
                list(v) if a == "add_license" else None for a, v in zip(c["action"], c["disabled_plans"])
            ],
            "usage_location": [None if pd.isna(v) else v for v in c["usage_location"].tolist()],
        },
        schema=_ITEM_SCHEMA,
    )


def record_plan_done(ledger: Ledger, plan: Plan) -> AppliedPlan:
    """Record that the plan's changes were made in Microsoft 365 (by the exports, or by Apply) and update the
    tenant snapshot to match, in one transaction. It changes nothing in Microsoft 365 itself.

    Raises StalePlan if the tenant changed since planning, SeatsExhausted if seats ran out meanwhile;
    in both cases nothing was written. A plan with nothing to do records nothing.
    """
    store = store_of(ledger)
    if plan.nothing_to_do:
        return AppliedPlan(None, 0)
    items = _items(plan)
    with store.transaction() as con:
        version = con.execute(_SQL["tenant_version"]).fetchall()[0][0]
        if version != plan.tenant_version:
            raise StalePlan(
                "The tenant changed since this plan was made (a new import or another applied plan). "
                "Nothing was applied; plan again."
            )
        with staged(con, staged_item=items):
            overdrawn = con.execute(_SQL["seats_overdrawn"]).fetchall()
            if overdrawn:
                sku_id, needed, free = overdrawn[0]
                raise SeatsExhausted(
                    f"The plan needs {needed} {license_name(sku_id, _labels(store).get(sku_id))} seats but only "
                    f"{free} are free. Nothing was applied; plan again."
                )
            plan_id = con.execute(_SQL["next_plan_id"]).fetchall()[0][0]
            ids = {"plan_id": plan_id}
            con.execute(
                _SQL["record_plan"],
                ids
                | {
                    "description": plan.description,
                    "tenant_version": plan.tenant_version,
                    "change_count": len(plan.changes),
                    "problem_count": len(plan.skipped),
                },
            ).fetchall()
            for name in ("record_plan_items", "record_plan_history"):
                con.execute(_SQL[name], ids).fetchall()
            for name in ("apply_seat_counts", "apply_usage_locations", "apply_drop_licenses", "apply_add_licenses"):
                con.execute(_SQL[name]).fetchall()
            con.execute(_SQL["record_apply"], ids).fetchall()
    return AppliedPlan(plan_id, len(plan.changes))


def apply_plan(ledger: Ledger, plan: Plan) -> AppliedPlan:
    """Deprecated name of `record_plan_done` (it only records; it never applied anything). Removed in the
    next release."""
    warnings.warn(
        "apply_plan only records a plan as done and is renamed record_plan_done; apply_plan goes in the next release",
        DeprecationWarning,
        stacklevel=2,
    )
    return record_plan_done(ledger, plan)
