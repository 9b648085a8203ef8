"""A license plan in words, as Step 1 and Step 3 show it: the plan table, who is left out and why, downloads."""

from __future__ import annotations

import html

import pandas as pd

from ..countries import country_names
from ..licensing.catalog import license_name
from ..licensing.plan_words import EXAMPLES_SHOWN
from ..licensing.plans import Plan
from . import format as fmt
from .long_list import download_link

DOWNLOAD_LABELS = {
    ".json": ("Graph $batch (JSON)", "application/json", "cc-download-graph"),
    ".ps1": ("PowerShell script", "text/plain", "cc-download-powershell"),
    ".csv": ("Spreadsheet (CSV)", "text/csv", "cc-download-csv"),
}


def country_label(code: str | None) -> str:
    if not code:
        return "no usage location"
    name = country_names().get(code.upper())
    return f"{name} ({code.upper()})" if name else code.upper()


def change_sentence(row) -> str:
    """One plan row in words, e.g. 'Add Teams Phone Standard' or 'Set usage location to United States (US)'."""
    name = license_name(row["sku_id"], row.get("sku_part_number"))
    if row["action"] == "set_usage_location":
        return f"Set usage location to {country_label(row['usage_location'])}"
    if row["action"] == "remove_license":
        return f"Remove {name}"
    why = str(row.get("why") or "")
    if why.startswith("turn "):  # a disabled service plan inside a license the user holds: no new seat
        return f"{why[0].upper()}{why[1:]} ({name})"
    return f"Add {name}"


def left_out_csv_frame(users: pd.DataFrame) -> pd.DataFrame:
    """Every user a plan leaves out, for the CSV download (the admin center's words)."""
    return pd.DataFrame(
        {
            "Display name": users["display_name"],
            "Username": users["user_principal_name"],
            "Why left out (what is missing)": users["why"],
        }
    )


def left_out_table_html(users: pd.DataFrame, locale: str | None) -> str:
    """One page of the users a plan leaves out."""
    return fmt.html_table(
        users,
        labels={
            "display_name": "Display name",
            "user_principal_name": "Username",
            "why": "Why left out (what is missing)",
        },
        css_class="cc-table cc-left-out",
        locale=locale,
    )


def plan_html(plan: Plan, locale: str | None) -> str:
    """The plan's summary line, who is left out and why, then per user what they get and still miss."""
    head = plan.summary().splitlines()[0]
    if plan.nothing_to_do:
        head = "Nothing to change for these users."
    parts = [f'<h3 class="cc-section">The plan</h3><p class="cc-plan-summary">{html.escape(head)}</p>']
    # A user is either in the table (what they get, and what they still miss) or in the box (left out).
    if plan.left_out:
        items = "".join(f"<li>{html.escape(p)}</li>" for p in plan.left_out)
        count = len(plan.left_out_users)
        every = (
            f'<div class="cc-hint">All {fmt.count(count, locale)} users left out are listed under '
            '"Users left out" below the plan, with a download.</div>'
            if count > EXAMPLES_SHOWN
            else ""
        )
        parts.append(f'<div class="cc-problems"><b>Not in this plan, and why:</b><ul>{items}</ul>{every}</div>')
    if not plan.nothing_to_do:
        parts.append(_changes_table(plan))
    return "".join(parts)


def _changes_table(plan: Plan) -> str:
    rows = []
    for upn, group in plan.changes.groupby("user_principal_name", sort=False):
        name = group["display_name"].iloc[0] or upn
        changes = "".join(f"<li>{html.escape(change_sentence(r))}</li>" for _, r in group.iterrows())
        missing = plan.missing.get(upn, ())
        still = (
            '<ul class="cc-missing">' + "".join(f"<li>{html.escape(m)}</li>" for m in missing) + "</ul>"
            if missing
            else '<span class="cc-muted">nothing: can dial out once applied</span>'
        )
        rows.append(
            f'<tr><td>{html.escape(str(name))}<div class="cc-upn">{html.escape(upn)}</div></td>'
            f"<td><ul>{changes}</ul></td><td>{still}</td></tr>"
        )
    return (
        '<table class="cc-table cc-plan-table"><thead><tr><th>User</th><th>Gets</th>'
        f"<th>Still missing</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def downloads_html(files: dict[str, str]) -> str:
    """Download links for the plan's files (name -> content); nothing when there is no file."""
    if not files:
        return ""
    links = "".join(
        download_link(text, name, *DOWNLOAD_LABELS[name[name.rfind(".") :]]) for name, text in files.items()
    )
    return f'<div class="cc-downloads"><span>Download:</span>{links}</div>'
