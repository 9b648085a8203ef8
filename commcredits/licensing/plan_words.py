"""A plan in words: why each change is made, problems as sentences, what each user still misses.

Kept apart from plans.py (which computes and applies plans) so the wording can change without touching rules.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from .catalog import COMMUNICATION_CREDITS_SKU, license_name

EXAMPLES_SHOWN = 5


_WHY = {
    "teams_phone": "add Teams Phone",
    "calling_plan": "add a Calling Plan",
    "audio_conferencing": "add Audio Conferencing",
    "communication_credits": "add the Communication Credits license",
    "remove": "remove this license",
    "usage_location": "set the usage location (required before licenses)",
}
_NEED_LABEL = {
    "teams_phone": "Teams Phone",
    "calling_plan": "the Calling Plan",
    "audio_conferencing": "Audio Conferencing",
    "communication_credits": "Communication Credits",
}


def why_text(code: str) -> str:
    if code.startswith("turn_on:"):
        return "turn " + " and ".join(_NEED_LABEL[n] for n in code[8:].split(",")) + " back on in this license"
    return _WHY[code]


def _names(upns: Sequence[str]) -> str:
    shown = ", ".join(upns[:EXAMPLES_SHOWN])
    more = len(upns) - EXAMPLES_SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


def users_phrase(n: int, verb: str = "") -> str:
    """'1 user has' / '3 users have' (verb given in its plural form: 'have', 'get', ...)."""
    singular = {"have": "has", "get": "gets", "need": "needs"}.get(verb, verb)
    subject = "1 user" if n == 1 else f"{n} users"
    return f"{subject} {singular if n == 1 else verb}".rstrip()


def count_phrase(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


# each problem's sentence, in the order a plan lists them; no_free_seats (None) has one sentence per license.
# {users}: "1 user" / "3 users"; {users_have}, {users_get}: with the verb; {has}, {is_are}, {a_resource_account}:
# agree with the count; {names}: the first few sign-in names.
_SENTENCES = {
    "not_in_tenant": "{users} chosen are not in the imported tenant: {names}.",
    "outside_selection": (
        "{users} chosen {is_are} left out by the plan's other filters "
        "(for example they can already dial out, or resource accounts are excluded): {names}."
    ),
    "nothing_needed": "{users} chosen already {has} what this change adds: {names}.",
    "no_usage_location": (
        "{users_have} no usage location, so no license can be assigned: {names}. "
        "Choose a usage location for the plan, or set it in the admin center."
    ),
    "no_free_seats": None,
    "calling_plan_needs_teams_phone": (
        "{users_get} no Calling Plan because Teams Phone could not be assigned to them "
        "(a Calling Plan needs Teams Phone): {names}."
    ),
    "resource_account_needs_payg": (
        "{users} {a_resource_account} and get no Calling Plan: a resource account dials out only with a "
        "Pay-As-You-Go Calling Plan (and Communication Credits), and needs none to answer its number: {names}."
    ),
    "credits_need_calling_capability": (
        "{users_get} no Communication Credits license because they have no Audio Conferencing "
        "or Calling Plan, so the license would not be used: {names}."
    ),
    "needs_phone_number": (
        "{users} with a Calling Plan {has} no phone number; assign one in the Teams admin center: {names}."
    ),
    "needs_teams_license": (
        "{users_have} no Microsoft Teams license (a suite sold without Teams), so calling "
        "licenses work for them only once they have Teams; assign one in the admin center: {names}."
    ),
}


def _sentence(template: str, n: int, names: str) -> str:
    one = n == 1
    return template.format(
        users=users_phrase(n),
        users_have=users_phrase(n, "have"),
        users_get=users_phrase(n, "get"),
        has="has" if one else "have",
        is_are="is" if one else "are",
        a_resource_account="is a resource account" if one else "are resource accounts",
        names=names,
    )


def _no_free_seats(n: int, names: str, sku_id: str, labels: dict[str, str], funded: bool) -> str:
    if sku_id == COMMUNICATION_CREDITS_SKU and not funded:
        return (
            f"No Communication Credits licenses are available yet ({users_phrase(n, 'need')} one: {names}). "
            "They come with the first purchase: record it in Step 2, then plan again."
        )
    return (
        f"Not enough free {license_name(sku_id, labels.get(sku_id))} seats: {users_phrase(n)} left out: {names}. "
        "Buy more seats or choose fewer users."
    )


def _who(rows: pd.DataFrame) -> tuple[int, str]:
    """How many users the rows name, and the first few of them by sign-in name."""
    upns = sorted(rows["user_principal_name"])
    return len(upns), _names(upns)


def problem_sentences(skipped: pd.DataFrame, labels: dict[str, str], funded: bool) -> tuple[str, ...]:
    """One sentence per problem (per license for missing seats) naming a few of the users it leaves out."""
    sentences = []
    for code, template in _SENTENCES.items():
        rows = skipped[skipped["code"] == code]
        if rows.empty:
            continue
        if template is not None:
            sentences.append(_sentence(template, *_who(rows)))
            continue
        for sku_id, group in rows.groupby(rows["sku_id"].fillna(""), sort=True):
            sentences.append(_no_free_seats(*_who(group), sku_id, labels, funded))
    return tuple(sentences)


def _missing_phrase(code: str, sku_id, labels: dict[str, str], funded: bool) -> str:
    """What one problem leaves a user without, in a few words (shown beside what the user gets)."""
    if code == "no_free_seats":
        if sku_id == COMMUNICATION_CREDITS_SKU and not funded:
            return "Communication Credits: licenses come with the first funding (Step 2)"
        return f"{license_name(sku_id, labels.get(sku_id))}: no free seats"
    return {
        "no_usage_location": "a usage location: no license can be assigned without one",
        "calling_plan_needs_teams_phone": "a Calling Plan: it needs Teams Phone, which had no free seat",
        "credits_need_calling_capability": "Communication Credits: needs Audio Conferencing or a Calling Plan first",
        "needs_phone_number": "a phone number: assign one in the Teams admin center",
        "needs_teams_license": "a Microsoft Teams license: assign one in the admin center",
        "not_in_tenant": "not in the imported tenant",
        "nothing_needed": "already has what this change adds",
        "outside_selection": "left out by the plan's other filters (can already dial out, or a resource account)",
        "resource_account_needs_payg": "a resource account dials out only with a Pay-As-You-Go Calling Plan",
    }[code]


_STILL_NEEDED = {  # readiness reasons a plan leaves in place, as what the user still needs
    "no_calling_capability": "Audio Conferencing or a Calling Plan",
    "calling_plan_without_teams_phone": "Teams Phone: the Calling Plan only works with it",
    "no_communication_credits_license": "the Communication Credits license (Step 3)",
    "toll_free_without_communication_credits": "the Communication Credits license for its toll-free number (Step 3)",
    "no_funds": "Communication Credits: the organization has not bought any (Step 2)",
    "zero_balance": "Communication Credits: the balance is zero (Step 2)",
}


def left_out_table(
    skipped: pd.DataFrame, changed_users: set[str], labels: dict[str, str], funded: bool
) -> pd.DataFrame:
    """One row per user the plan changes nothing for and why (the full list behind the sentences, which name
    only a few users each): display_name, user_principal_name, why."""
    rows = skipped[~skipped["user_id"].isin(changed_users)]
    why = [_missing_phrase(r.code, None if pd.isna(r.sku_id) else r.sku_id, labels, funded) for r in rows.itertuples()]
    table = pd.DataFrame(
        {"display_name": rows["display_name"], "user_principal_name": rows["user_principal_name"], "why": why}
    )
    return table.groupby(["user_principal_name"], sort=True, as_index=False).agg(
        display_name=("display_name", "first"), why=("why", "; ".join)
    )[["display_name", "user_principal_name", "why"]]


def split_problems(
    skipped: pd.DataFrame, remaining: pd.DataFrame, changed_users: set[str], labels: dict[str, str], funded: bool
) -> tuple[tuple[str, ...], dict[str, tuple[str, ...]]]:
    """Sentences for users left out entirely, and per user in the plan everything they still miss to dial out."""
    in_plan = skipped["user_id"].isin(changed_users)
    left_out = problem_sentences(skipped[~in_plan], labels, funded)
    missing: dict[str, list[str]] = {}
    for row in skipped[in_plan].itertuples():
        sku_id = None if pd.isna(row.sku_id) else row.sku_id
        missing.setdefault(row.user_principal_name, []).append(_missing_phrase(row.code, sku_id, labels, funded))
    order = list(_STILL_NEEDED)
    remaining = remaining[remaining["user_id"].isin(changed_users)]
    for row in sorted(remaining.itertuples(), key=lambda r: order.index(r.code)):
        missing.setdefault(row.user_principal_name, []).append(_STILL_NEEDED[row.code])
    return left_out, {upn: tuple(phrases) for upn, phrases in missing.items()}
