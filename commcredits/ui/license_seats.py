"""Step 1's calling seats: the tenant's calling licenses with their free seats, and the Calling Plan choices."""

from __future__ import annotations

import html

import pandas as pd

from ..licensing.catalog import (
    DOMESTIC_CALLING_PLAN_SKU,
    INTERNATIONAL_CALLING_PLAN_SKU,
    PAY_AS_YOU_GO_CALLING_PLAN_SKU,
    TEAMS_PHONE_WITH_CALLING_PLAN_SKU,
    Capability,
    license_name,
)
from . import format as fmt

# Names admins know from the Teams admin guide; Microsoft's product names for some of these are historic
# ("Skype for Business PSTN Domestic Calling").
# The Calling Plan licenses Step 1 always offers, in this order (others the tenant owns follow).
USUAL_CALLING_PLANS = (
    DOMESTIC_CALLING_PLAN_SKU,
    INTERNATIONAL_CALLING_PLAN_SKU,
    PAY_AS_YOU_GO_CALLING_PLAN_SKU,
    TEAMS_PHONE_WITH_CALLING_PLAN_SKU,
)
CALLING_PLAN_CAPABILITIES = {"domestic_calling_plan", "international_calling_plan", "pay_as_you_go_calling_plan"}


def seats_html(seats: pd.DataFrame, locale: str | None = None) -> str:
    """The tenant's calling licenses and their free seats, as Step 1 shows them before planning."""
    if seats.empty:
        return (
            '<p class="cc-hint cc-seats-empty">No calling licenses imported yet: import the tenant\'s '
            "subscribed licenses (Graph subscribedSkus) to see free seats.</p>"
        )
    rows = []
    for r in seats.itertuples():
        name = license_name(r.sku_id, r.product_name)
        grants = ", ".join(Capability(c).label for c in r.capabilities)
        grants = "" if grants in name else grants  # "Audio Conferencing" needs no subtitle
        note = ""
        if r.capability_status in ("Suspended", "LockedOut", "Deleted"):
            note = f"{r.capability_status}: no new seats"
        elif r.warning_units:
            note = f"{fmt.count(r.warning_units, locale)} not renewed (grace period)"
        free = fmt.count(r.free_units, locale)
        free = f'<span class="cc-none">{free}</span>' if r.free_units == 0 else free
        sub = "; ".join(part for part in (grants, "one license, one seat" if r.is_bundle else "") if part)
        rows.append(
            f"<tr><td>{html.escape(name)}"
            f"{f'<div class=cc-muted>{html.escape(sub)}</div>' if sub else ''}</td>"
            f'<td class="cc-num">{free}</td><td class="cc-num">{fmt.count(r.consumed_units, locale)} of {fmt.count(r.enabled_units, locale)}</td>'
            f"<td>{html.escape(note)}</td></tr>"
        )
    return (
        '<table class="cc-table cc-seats-table"><thead><tr><th>License</th><th class="cc-num">Available</th>'
        '<th class="cc-num">Assigned</th><th>Note</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def calling_plan_options(seats: pd.DataFrame, locale: str | None = None) -> list[tuple[str, str]]:
    """Calling Plan choices with their free seats: the usual ones in the usual order (Domestic first), then any
    other calling-plan license the tenant owns (e.g. Business Voice); bundles say they are one license."""
    usual = list(USUAL_CALLING_PLANS)
    owned = seats[seats["capabilities"].map(lambda caps: bool(set(caps) & CALLING_PLAN_CAPABILITIES))]
    by_sku = {r.sku_id: r for r in owned.itertuples()}
    options = []
    for sku in usual + sorted(set(by_sku) - set(usual)):
        r = by_sku.get(sku)
        name = license_name(sku, r.product_name if r is not None else None)
        bundle = (
            " (one license)" if (r.is_bundle if r is not None else sku == TEAMS_PHONE_WITH_CALLING_PLAN_SKU) else ""
        )
        seats_text = f"{fmt.count(r.free_units, locale)} available" if r is not None else "none owned"
        options.append((f"{name}{bundle} · {seats_text}", sku))
    return options


def default_calling_plan(seats: pd.DataFrame, options: list[tuple[str, str]]) -> str:
    """The first choice with free seats (a tenant that owns only the bundle gets the bundle), else the first."""
    free = dict(zip(seats["sku_id"], seats["free_units"]))
    return next((sku for _, sku in options if free.get(sku, 0) > 0), options[0][1])
