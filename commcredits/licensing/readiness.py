"""Who can dial out, and if not, why not and what to do: the `readiness` view, read for people."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from ..credits.ledger import Ledger
from ..store import named_sql, store_of

_SQL = named_sql("readiness_queries")
READINESS_COLUMNS = (
    "user_principal_name",
    "display_name",
    "department",
    "usage_location",
    "can_dial_out",
    "reasons",
    "fixes",
    "reason_codes",
    "is_resource_account",
    "has_audio_conferencing",
    "has_teams_phone",
    "has_calling_plan",
    "has_communication_credits",
    "phone_number",
    "licenses",
    "user_id",
    "has_teams",
    "has_toll_free_number",
    "has_included_minutes",
    "can_call_beyond_included",
    "beyond_included_codes",
    "beyond_included",
)


@dataclass(frozen=True)
class ReadinessSummary:
    """Counts for the dashboard: users in total, ready, not ready, and per reason (code -> users)."""

    users: int
    ready: int
    not_ready: int
    by_reason: Mapping[str, int]
    sentence: str
    # users who can call now within included minutes but not beyond them (calls paid from credits), per reason
    beyond_included: int = 0
    beyond_by_reason: Mapping[str, int] = field(default_factory=dict)
    beyond_sentence: str = ""  # the part of `sentence` about them ("" when there are none)


def readiness(ledger: Ledger, *, only_not_ready: bool = False) -> pd.DataFrame:
    """One row per user (sorted by sign-in name): can_dial_out, reasons and fixes in plain language."""
    store = store_of(ledger)
    where = "WHERE NOT can_dial_out" if only_not_ready else ""
    columns = ", ".join(READINESS_COLUMNS)
    df = store.query_df(f"SELECT {columns} FROM readiness {where} ORDER BY lower(user_principal_name)")
    for column in ("reasons", "fixes", "reason_codes", "licenses", "beyond_included_codes", "beyond_included"):
        df[column] = df[column].map(list)  # plain lists read better in a notebook than numpy arrays
    return df


def _counts_sentence(not_ready: int, users: int, parts: list[tuple[int, str]]) -> str:
    if users == 0:
        return "No users imported yet: import the tenant's users first."
    if not_ready == 0:
        return f"All {users} users can dial out." if users > 1 else "The only user can dial out."
    subject = "1 user cannot" if not_ready == 1 else f"{not_ready} users cannot"
    details = ", ".join(f"{n} {text}" for n, text in parts)
    return f"{subject} dial out: {details}."


BEYOND_INCLUDED_CALLS = "international on a domestic plan, beyond the included minutes, toll-free, Pay-As-You-Go"


def _beyond_sentence(users: int, parts: list[tuple[int, str]]) -> str:
    if users == 0:
        return ""
    subject = (
        "1 user can call within the included minutes"
        if users == 1
        else f"{users} users can call within their included minutes"
    )
    details = ", ".join(f"{n} {text}" for n, text in parts)
    return f" {subject}, but calls paid from credits ({BEYOND_INCLUDED_CALLS}) need more: {details}."


def readiness_summary(ledger: Ledger) -> ReadinessSummary:
    """Counts per reason and one sentence such as "37 users cannot dial out: 21 have no usage location, ...",
    followed by who can call within included minutes but not beyond them. A user can count under several
    reasons. "Cannot dial out" means the `readiness` view's can_dial_out, the one figure every page shows."""
    store = store_of(ledger)
    totals = store.query(_SQL["readiness_totals"])[0]
    rows = store.query(_SQL["reason_counts"], {"beyond_included": False})
    beyond_rows = store.query(_SQL["reason_counts"], {"beyond_included": True})
    users, ready, beyond = totals
    beyond_sentence = _beyond_sentence(beyond, [(n, summary) for _, summary, n in beyond_rows])
    sentence = _counts_sentence(users - ready, users, [(n, summary) for _, summary, n in rows]) + beyond_sentence
    return ReadinessSummary(
        users,
        ready,
        users - ready,
        {code: n for code, _, n in rows},
        sentence,
        beyond,
        {code: n for code, _, n in beyond_rows},
        beyond_sentence.strip(),
    )


def license_seats(ledger: Ledger) -> pd.DataFrame:
    """The tenant's calling licenses with free seats (Microsoft's formula, see the `license_seats` view),
    friendliest first: what Step 1 shows before anything is planned."""
    store = store_of(ledger)
    df = store.query_df(_SQL["license_seats"])
    df["capabilities"] = df["capabilities"].map(list)
    return df


def toll_free_resource_accounts(ledger: Ledger) -> pd.DataFrame:
    """Resource accounts (auto attendants, call queues) that hold a toll-free number: every call to them is paid
    from Communication Credits, so they stop answering when the balance reaches zero. Columns: user_id,
    user_principal_name, display_name, phone_number, has_communication_credits, reason_codes."""
    store = store_of(ledger)
    df = store.query_df(_SQL["toll_free_resource_accounts"])
    df["reason_codes"] = df["reason_codes"].map(list)
    return df
