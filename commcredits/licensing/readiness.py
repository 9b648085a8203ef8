"""Who can dial out, and if not, why not and what to do: the `readiness` view, read for people."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import pandas as pd

from ..store import Store

READINESS_COLUMNS = ("user_principal_name", "display_name", "department", "usage_location", "can_dial_out",
                     "reasons", "fixes", "reason_codes", "is_resource_account", "has_audio_conferencing",
                     "has_teams_phone", "has_calling_plan", "has_communication_credits", "phone_number", "licenses",
                     "user_id", "has_teams", "has_toll_free_number")


@dataclass(frozen=True)
class ReadinessSummary:
    """Counts for the dashboard: users in total, ready, not ready, and per reason (code -> users)."""

    users: int
    ready: int
    not_ready: int
    by_reason: Mapping[str, int]
    sentence: str


def readiness(store: Store, *, only_not_ready: bool = False) -> pd.DataFrame:
    """One row per user (sorted by sign-in name): can_dial_out, reasons and fixes in plain language."""
    where = "WHERE NOT can_dial_out" if only_not_ready else ""
    columns = ", ".join(READINESS_COLUMNS)
    df = store.query_df(f"SELECT {columns} FROM readiness {where} ORDER BY lower(user_principal_name)")
    for column in ("reasons", "fixes", "reason_codes", "licenses"):
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


def readiness_summary(store: Store) -> ReadinessSummary:
    """Counts per reason and one sentence such as "37 users cannot dial out: 21 lack a Communication
    Credits license, ...". A user can count under several reasons."""
    totals = store.query("SELECT count(*), count(*) FILTER (WHERE can_dial_out) FROM readiness")[0]
    rows = store.query(
        """SELECT r.code, CASE WHEN count(*) = 1 THEN r.summary_one ELSE r.summary END, count(*) AS users
           FROM (SELECT unnest(reason_codes) AS code FROM readiness) u
           JOIN readiness_reasons r USING (code)
           GROUP BY r.code, r.summary, r.summary_one, r.sort_order
           ORDER BY users DESC, r.sort_order""")
    users, ready = totals
    by_reason = {code: n for code, _, n in rows}
    sentence = _counts_sentence(users - ready, users, [(n, summary) for _, summary, n in rows])
    return ReadinessSummary(users, ready, users - ready, by_reason, sentence)


def license_seats(store: Store) -> pd.DataFrame:
    """The tenant's calling licenses with free seats (Microsoft's formula, see the `license_seats` view),
    friendliest first: what Step 1 shows before anything is planned."""
    df = store.query_df("""SELECT sku_id, sku_part_number, product_name, capabilities, enabled_units, warning_units,
                                  consumed_units, free_units, capability_status, is_bundle
                           FROM license_seats ORDER BY is_bundle DESC, lower(product_name)""")
    df["capabilities"] = df["capabilities"].map(list)
    return df


def toll_free_resource_accounts(store: Store) -> pd.DataFrame:
    """Resource accounts (auto attendants, call queues) that hold a toll-free number: every call to them is paid
    from Communication Credits, so they stop answering when the balance reaches zero. Columns: user_id,
    user_principal_name, display_name, phone_number, has_communication_credits, reason_codes."""
    df = store.query_df("""SELECT user_id, user_principal_name, display_name, phone_number, has_communication_credits,
                                  reason_codes
                           FROM resource_accounts WHERE has_toll_free_number ORDER BY lower(user_principal_name)""")
    df["reason_codes"] = df["reason_codes"].map(list)
    return df
