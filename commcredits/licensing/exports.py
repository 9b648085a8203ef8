"""Exports of a license plan: Graph JSON $batch bodies, a PowerShell script, CSV.

The Graph requests are built here once (`graph_requests`, `graph_batches`, `batch_body`): the `$batch` file an
admin downloads is exactly what "Apply in Microsoft 365" (m365/apply.py) sends. Graph runs the requests of one
batch either all in parallel or as a strict sequence (dependsOn); it rejects a mix. A usage location must be set
before a license can be assigned, so a user who needs both is in a sequential batch (assignLicense dependsOn its
PATCH); users who need one request go into parallel batches. A user's requests never straddle two batches.
Send the batches in the order returned, each after the previous one finished.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import quote

import pandas as pd

from ..countries import country_names
from ..safety import neutralise_formula
from .catalog import license_name, load_catalog
from .plans import Plan
from .tenant_read import GUID

MAX_REQUESTS_PER_BATCH = 20  # Graph's limit for one JSON batch

JSON_HEADERS = {"Content-Type": "application/json"}


def _user_path(user_id: str, upn: str) -> str:
    """/users/{object id}: an id never needs escaping. Users imported from CSV without an id fall back to the
    key form /users('{upn}') that Graph documents for names starting with '$' (quotes doubled, then encoded)."""
    if GUID.match(user_id or ""):
        return "/users/" + user_id
    return "/users('" + quote(upn.replace("'", "''"), safe="@$") + "')"


def _ps_user(user_id: str, upn: str) -> str:
    """-UserId takes the object id or the sign-in name; the id is safe whatever the name holds."""
    return ps_quote(user_id if GUID.match(user_id or "") else upn)


def _plain(value) -> str | None:
    return None if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA else value


def _per_user(plan: Plan) -> Iterator[tuple[str, str, str | None, str | None, list[dict], list[str]]]:
    """(user id, upn, display name, usage location to set, licenses to add, skuIds to remove) in plan order."""
    for (user_id, upn), rows in plan.changes.groupby(["user_id", "user_principal_name"], sort=False):
        location = next((_plain(r.usage_location) for r in rows.itertuples() if r.action == "set_usage_location"), None)
        adds = [
            {"skuId": r.sku_id, "disabledPlans": list(r.disabled_plans)}
            for r in rows.itertuples()
            if r.action == "add_license"
        ]
        removes = [r.sku_id for r in rows.itertuples() if r.action == "remove_license"]
        yield user_id, upn, _plain(rows["display_name"].iloc[0]), location, adds, removes


@dataclass(frozen=True)
class GraphRequest:
    """One Graph request of a plan: `kind` is 'location' (PATCH usageLocation) or 'licenses' (assignLicense)."""

    user_id: str
    kind: str
    method: str
    url: str
    body: dict


def graph_requests(plan: Plan) -> list[list[GraphRequest]]:
    """Per user in plan order, the requests that make the plan's changes: the usage location first."""
    groups = []
    for user_id, upn, _, location, adds, removes in _per_user(plan):
        path = _user_path(user_id, upn)
        mine = []
        if location:
            mine.append(GraphRequest(user_id, "location", "PATCH", path, {"usageLocation": location}))
        if adds or removes:
            mine.append(
                GraphRequest(
                    user_id,
                    "licenses",
                    "POST",
                    path + "/assignLicense",
                    {"addLicenses": adds, "removeLicenses": removes},
                )
            )
        groups.append(mine)
    return groups


Item = TypeVar("Item")


def graph_batches(groups: Sequence[Sequence[Item]]) -> list[tuple[bool, list[Item]]]:
    """(sequential?, items) batches of at most 20 requests from per-user groups: users with two requests in
    sequential batches first, then the others in parallel batches; a user's requests stay in one batch."""
    batches: list[tuple[bool, list[Item]]] = []
    current: list[Item] = []
    for group in (g for g in groups if len(g) > 1):
        if len(current) + len(group) > MAX_REQUESTS_PER_BATCH:
            batches.append((True, current))
            current = []
        current.extend(group)
    if current:
        batches.append((True, current))
    singles = [g[0] for g in groups if len(g) == 1]
    batches += [
        (False, singles[i : i + MAX_REQUESTS_PER_BATCH]) for i in range(0, len(singles), MAX_REQUESTS_PER_BATCH)
    ]
    return batches


def batch_body(sequential: bool, requests: Sequence[GraphRequest]) -> dict:
    """The JSON body of one POST /$batch; in a sequential batch each request dependsOn the one before."""
    body = []
    for number, request in enumerate(requests, start=1):
        item = {
            "id": str(number),
            "method": request.method,
            "url": request.url,
            "headers": JSON_HEADERS,
            "body": request.body,
        }
        if sequential and number > 1:
            item["dependsOn"] = [str(number - 1)]
        body.append(item)
    return {"requests": body}


def export_graph_batches(plan: Plan) -> list[dict]:
    """Bodies for POST https://graph.microsoft.com/v1.0/$batch, at most 20 requests each, in sending order:
    exactly the batches "Apply in Microsoft 365" sends for this plan."""
    return [batch_body(sequential, requests) for sequential, requests in graph_batches(graph_requests(plan))]


_PS_QUOTES = "'\u2018\u2019\u201a\u201b"  # PowerShell ends a single-quoted string at any of these


def ps_quote(text: str) -> str:
    """A PowerShell single-quoted string literal: every quote character inside is doubled."""
    return "'" + re.sub(f"([{_PS_QUOTES}])", r"\1\1", text) + "'"


def _ps_comment(text: str) -> str:
    return re.sub(r"[\r\n\x00-\x1f]+", " ", text)


def _ps_license(add: dict) -> str:
    fields = [f"SkuId = {ps_quote(add['skuId'])}"]
    if add["disabledPlans"]:
        fields.append("DisabledPlans = @(" + ", ".join(ps_quote(p) for p in add["disabledPlans"]) + ")")
    return "@{" + "; ".join(fields) + "}"


def _users_line(plan: Plan) -> str:
    """How many users the script changes, and how many the plan leaves out (their reasons are in the plan)."""
    changed = plan.users if not plan.nothing_to_do else 0
    line = f"Changes for {changed} user{'s' if changed != 1 else ''}."
    left_out = len(plan.left_out_users)
    if left_out:
        line += (
            f' {left_out} user{"s are" if left_out != 1 else " is"} not in this plan: see "Not in this plan, '
            'and why" in Step 1.'
        )
    return line


def export_powershell(plan: Plan) -> str:
    """A PowerShell script (Microsoft Graph SDK) that makes the plan's changes, one user at a time."""
    lines = [
        "# License changes planned by the Communication Credits workbook.",
        f"# Plan: {_ps_comment(plan.description)}",
        f"# {_ps_comment(_users_line(plan))}",
        "# Review before running. Needs the Microsoft Graph PowerShell SDK (Install-Module Microsoft.Graph).",
        "Connect-MgGraph -Scopes User.ReadWrite.All, Organization.Read.All",
        "$ErrorActionPreference = 'Stop'",
    ]
    for user_id, upn, display_name, location, adds, removes in _per_user(plan):
        lines.append("")
        lines.append(f"# {_ps_comment(display_name or upn)} ({_ps_comment(upn)})")
        user = _ps_user(user_id, upn)
        if location:
            lines.append(f"Update-MgUser -UserId {user} -UsageLocation {location}")
        if adds or removes:
            add_text = "@(" + ", ".join(_ps_license(a) for a in adds) + ")"
            remove_text = "@(" + ", ".join(ps_quote(s) for s in removes) + ")"
            lines.append(f"Set-MgUserLicense -UserId {user} -AddLicenses {add_text} -RemoveLicenses {remove_text}")
    return "\n".join(lines) + "\n"


# The spreadsheet is for admins: its headers are the Microsoft 365 admin center's words ("Display name",
# "Username", "Usage location", "Apps" for service plans), and a license is named as Microsoft's page
# "Product names and service plan identifiers for licensing" does (product name, String ID, GUID).
# Graph property names stay in the machine exports above (Graph $batch, PowerShell).
CSV_HEADERS = (
    "Display name",
    "Username",
    "Change",
    "License",
    "String ID",
    "GUID",
    "Apps turned off",
    "Usage location",
    "Why",
)
_CHANGE_WORDS = {
    "add_license": "Add license",
    "remove_license": "Remove license",
    "set_usage_location": "Set usage location",
}


def export_csv(plan: Plan) -> str:
    """The plan as CSV for review in a spreadsheet: one row per change, headed in the admin center's words."""
    c = plan.changes
    plan_names = {
        sp.service_plan_id: sp.service_plan_name
        for product in load_catalog().products.values()
        for sp in product.service_plans
    }
    countries = country_names()
    table = pd.DataFrame(
        {
            "Display name": c["display_name"],
            "Username": c["user_principal_name"],
            # a license the user holds with a calling app turned off needs no new seat: the app is turned on
            "Change": [
                ("Turn apps back on" if str(why).startswith("turn ") else _CHANGE_WORDS.get(action, action))
                for action, why in zip(c["action"], c["why"])
            ],
            "License": [
                license_name(sku, part) if action != "set_usage_location" else None
                for sku, part, action in zip(c["sku_id"], c["sku_part_number"], c["action"])
            ],
            "String ID": c["sku_part_number"],
            "GUID": c["sku_id"],
            "Apps turned off": c["disabled_plans"].map(lambda ids: "; ".join(plan_names.get(i, i) for i in ids)),
            "Usage location": c["usage_location"].map(
                lambda code: f"{countries.get(code, code)} ({code})" if isinstance(code, str) and code else None
            ),
            "Why": c["why"].map(lambda why: why[:1].upper() + why[1:] if isinstance(why, str) else why),
        },
        columns=list(CSV_HEADERS),
    )
    out = io.StringIO()
    table.map(neutralise_formula).to_csv(out, index=False, lineterminator="\n")  # names may be "=cmd|…"
    return out.getvalue()
