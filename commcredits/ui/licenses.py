"""Step 1 (calling licenses) and Step 3 (Communication Credits licenses) forms.

The forms collect a selection and a change, then show what `commcredits.plans` makes of it: the plan, the
problems in words, downloads for Graph / PowerShell / a spreadsheet, and `apply_plan`. Rules (seats, usage
locations, what needs what) live in the domain; this module only filters the user list and words the result.
"""

from __future__ import annotations

import html
import logging
from typing import Callable

import ipywidgets as widgets
import pandas as pd

from ..licensing.catalog import (
    DOMESTIC_CALLING_PLAN_SKU, INTERNATIONAL_CALLING_PLAN_SKU, PAY_AS_YOU_GO_CALLING_PLAN_SKU,
    TEAMS_PHONE_WITH_CALLING_PLAN_SKU, Capability, license_name,
)
from ..countries import country_names
from ..errors import CommCreditsError, InvalidInput
from ..licensing.exports import export_csv, export_graph_batches, export_powershell
from ..credits.ledger import Agreement, Ledger
from ..licensing.plan_words import EXAMPLES_SHOWN
from ..licensing.plans import Change, Plan, Selection, add_communication_credits, apply_plan, plan_license_changes
from ..licensing.readiness import license_seats, readiness, readiness_summary
from ..rows import frame_rows
from . import format as fmt
from . import m365 as m365_ui
from .long_list import LongList, download_link

log = logging.getLogger(__name__)

LABEL_WIDTH = {"description_width": "190px"}
FIELD_WIDTH = "620px"
ERROR_MARGIN = "0 0 0 198px"
BUTTON_ROW_MARGIN = "10px 0 6px 198px"

# The Calling Plan licenses Step 1 always offers, in this order (others the tenant owns follow).
USUAL_CALLING_PLANS = (DOMESTIC_CALLING_PLAN_SKU, INTERNATIONAL_CALLING_PLAN_SKU, PAY_AS_YOU_GO_CALLING_PLAN_SKU,
                       TEAMS_PHONE_WITH_CALLING_PLAN_SKU)
CALLING_PLAN_CAPABILITIES = {"domestic_calling_plan", "international_calling_plan", "pay_as_you_go_calling_plan"}

# Names admins know from the Teams admin guide; Microsoft's product names for some of these are historic
# ("Skype for Business PSTN Domestic Calling").

ALL = ""
NO_LOCATION = "-"
READY = "ready"
NOT_READY = "not_ready"

LICENSE_STYLE = """<style>
.cc-problems { background: #fff4ce; border: 1px solid #f1c21b; border-radius: 6px; padding: 8px 12px; margin: 8px 0; }
.cc-problems ul { margin: 4px 0 0 18px; padding: 0; }
.cc-plan-table td ul { margin: 0; padding-left: 16px; }
.cc-plan-table .cc-upn, .cc-muted { color: #555; font-size: 12px; }
.cc-downloads { display: flex; gap: 8px; flex-wrap: wrap; align-items: center; margin: 6px 0; }
.cc-downloads a { padding: 5px 12px; border-radius: 4px; background: #eff6fc; color: #0f548c; border: 1px solid #c7e0f4;
                  text-decoration: none; font-size: 13px; }
.cc-hint { color: #555; font-size: 13px; margin: 2px 0 6px; }
.cc-notice { border-left: 4px solid #0f548c; background: #eff6fc; padding: 8px 12px; margin: 4px 0 8px; }
.cc-notice.cc-notice-warning { border-left-color: #a4262c; background: #fdf3f4; }
.cc-card.cc-bad .cc-value { color: #a4262c; }
.cc-card.cc-good .cc-value { color: #0b6a0b; }
.cc-plan-table { max-height: 26em; overflow-y: auto; }
.cc-plan-table thead th { position: sticky; top: 0; }
.cc-seats-table td.cc-num, .cc-seats-table th.cc-num { text-align: right; font-variant-numeric: tabular-nums; }
.cc-seats-table .cc-none { color: #a4262c; font-weight: 600; }
.cc-plan-table .cc-missing li { color: #8a3b00; }
</style>"""


# ---------------------------------------------------------------------------------------------- presentation

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


def seats_html(seats: pd.DataFrame, locale: str | None = None) -> str:
    """The tenant's calling licenses and their free seats, as Step 1 shows them before planning."""
    if seats.empty:
        return ('<p class="cc-hint cc-seats-empty">No calling licenses imported yet: import the tenant\'s '
                "subscribed licenses (Graph subscribedSkus) to see free seats.</p>")
    rows = []
    for r in seats.itertuples():
        name = license_name(r.sku_id, r.product_name)
        grants = ", ".join(Capability(c).label for c in r.capabilities)
        grants = "" if grants in name else grants   # "Audio Conferencing" needs no subtitle
        note = ""
        if r.capability_status in ("Suspended", "LockedOut", "Deleted"):
            note = f"{r.capability_status}: no new seats"
        elif r.warning_units:
            note = f"{fmt.count(r.warning_units, locale)} not renewed (grace period)"
        free = fmt.count(r.free_units, locale)
        free = f'<span class="cc-none">{free}</span>' if r.free_units == 0 else free
        sub = "; ".join(part for part in (grants, "one license, one seat" if r.is_bundle else "") if part)
        rows.append(f"<tr><td>{html.escape(name)}"
                    f'{f"<div class=cc-muted>{html.escape(sub)}</div>" if sub else ""}</td>'
                    f'<td class="cc-num">{free}</td><td class="cc-num">{fmt.count(r.consumed_units, locale)} of {fmt.count(r.enabled_units, locale)}</td>'
                    f"<td>{html.escape(note)}</td></tr>")
    return ('<table class="cc-table cc-seats-table"><thead><tr><th>License</th><th class="cc-num">Available</th>'
            '<th class="cc-num">Assigned</th><th>Note</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


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
        bundle = " (one license)" if (r.is_bundle if r is not None else sku == TEAMS_PHONE_WITH_CALLING_PLAN_SKU) else ""
        seats_text = f"{fmt.count(r.free_units, locale)} available" if r is not None else "none owned"
        options.append((f"{name}{bundle} · {seats_text}", sku))
    return options


def default_calling_plan(seats: pd.DataFrame, options: list[tuple[str, str]]) -> str:
    """The first choice with free seats (a tenant that owns only the bundle gets the bundle), else the first."""
    free = dict(zip(seats["sku_id"], seats["free_units"]))
    return next((sku for _, sku in options if free.get(sku, 0) > 0), options[0][1])


def filter_users(users: pd.DataFrame, search: str = "", department: str = ALL, country: str = ALL,
                 state: str = ALL) -> pd.DataFrame:
    """The rows of a `readiness` frame the picker shows: search in name / sign-in name, then the filters."""
    shown = users
    words = search.strip().lower().split()
    if words:
        haystack = (shown["display_name"].fillna("") + " " + shown["user_principal_name"]).str.lower()
        for word in words:
            shown = shown[haystack.loc[shown.index].str.contains(word, regex=False)]
    if department:
        shown = shown[shown["department"].fillna("") == department]
    if country == NO_LOCATION:
        shown = shown[shown["usage_location"].isna() | (shown["usage_location"] == "")]
    elif country:
        shown = shown[shown["usage_location"] == country]
    if state == READY:
        shown = shown[shown["can_dial_out"]]
    elif state == NOT_READY:
        shown = shown[~shown["can_dial_out"]]
    elif state:
        shown = shown[shown["reason_codes"].map(lambda codes: state in codes)]
    return shown


def user_label(row) -> str:
    name = row["display_name"] or row["user_principal_name"]
    state = "can dial out" if row["can_dial_out"] else "cannot dial out"
    return f"{name} · {row['user_principal_name']} · {state}"


def left_out_csv_frame(users: pd.DataFrame) -> pd.DataFrame:
    """Every user a plan leaves out, for the CSV download (the admin center's words)."""
    return pd.DataFrame({"Display name": users["display_name"], "Username": users["user_principal_name"],
                         "Why left out (what is missing)": users["why"]})


def _reason_labels(ledger: Ledger) -> list[tuple[str, str]]:
    rows = ledger.store.query("SELECT code, summary_one FROM readiness_reasons ORDER BY sort_order")
    return [(text[0].upper() + text[1:], code) for code, text in rows]


# ---------------------------------------------------------------------------------------------- shared flow

class _PlanForm:
    """What Step 1 and Step 3 share: readiness at the top, plan / apply / downloads, status and errors."""

    file_prefix = "license-plan"

    def __init__(self, ledger: Ledger, *, locale: str | None = None):
        self.ledger = ledger
        self.store = ledger.store
        self.locale = locale or fmt.display_locale()
        self.plan: Plan | None = None
        self.readiness_box = widgets.HTML()
        self.readiness_box.add_class("cc-readiness")
        self.status = widgets.HTML()
        self.status.add_class("cc-status")
        self.usage_location = widgets.Dropdown(
            description="Usage location", options=[("Leave as it is", "")] + [
                (f"{name} ({code})", code) for code, name in country_names().items()],
            value="", style=LABEL_WIDTH, layout=widgets.Layout(width=FIELD_WIDTH))
        self.usage_location.add_class("cc-usage-location")
        self.errors: dict[str, widgets.HTML] = {}
        self.plan_button = widgets.Button(description="Plan changes", button_style="primary", icon="list")
        self.plan_button.add_class("cc-plan-button")
        # two clearly different ways to finish: the workbook makes the changes, or the admin made them elsewhere
        self.m365_button = widgets.Button(description="Apply in Microsoft 365", button_style="success",
                                          icon="cloud-upload", layout=widgets.Layout(width="auto"))
        self.m365_button.add_class("cc-apply-m365")
        self.apply_button = widgets.Button(description="Record as done", icon="check",
                                           layout=widgets.Layout(width="auto"))
        self.apply_button.add_class("cc-apply")
        self.plan_view = widgets.HTML()
        self.plan_view.add_class("cc-plan")
        self.downloads = widgets.HTML()
        self.downloads.add_class("cc-exports")
        self.apply_hint = widgets.HTML(
            '<div class="cc-hint"><b>Apply in Microsoft 365</b> makes these changes in your tenant through '
            "Microsoft Graph and records what Microsoft 365 accepted (connect on the Microsoft 365 page). Or make "
            "them yourself with the Graph batch, the PowerShell script or the spreadsheet below, then "
            "<b>Record as done</b>: that only records them here and changes nothing in Microsoft 365.</div>")
        # every user left out, a page at a time and as a CSV (the sentences above the plan name only a few)
        self.left_out = LongList(frame_rows(pd.DataFrame()), self._left_out_html, noun="users",
                                 filename=f"{self.file_prefix}-users-left-out.csv", export=left_out_csv_frame,
                                 css="cc-left-out-list", locale=self.locale)
        self.left_out_box = widgets.VBox([widgets.HTML('<h3 class="cc-section">Users left out</h3>'),
                                          self.left_out.widget])
        # the summary, then the actions, then the full lists (the plan scrolls in its own box, so they stay in view)
        self.plan_box = widgets.VBox([self.plan_view, widgets.HBox([self.m365_button, self.apply_button]),
                                      self.apply_hint, self.downloads, self.left_out_box])
        self.plan_box.add_class("cc-plan-box")
        self.plan_box.layout.display = "none"
        self.plan_button.on_click(self._guarded(self._on_plan))
        self.apply_button.on_click(self._guarded(self._on_apply))
        self.m365_button.on_click(self._guarded(self._on_apply_m365))
        self.usage_location.observe(self._inputs_changed, names="value")

    def _error_field(self, name: str) -> widgets.HTML:
        error = widgets.HTML(layout=widgets.Layout(margin=ERROR_MARGIN))
        error.add_class(f"cc-error-{name.replace('_', '-')}")
        self.errors[name] = error
        return error

    def _page(self, *parts: widgets.Widget) -> widgets.VBox:
        # status and plan sit right under the inputs' button so the result of a click is in view
        return widgets.VBox([widgets.HTML(fmt.STYLE + LICENSE_STYLE), self.readiness_box, *parts,
                             self.status, self.plan_box])

    # ---- readiness ----

    def refresh_readiness(self) -> None:
        summary = readiness_summary(self.store)
        cards = "".join(
            f'<div class="cc-card {css}"><div class="cc-label">{label}</div>'
            f'<div class="cc-value">{fmt.count(value, self.locale)}</div></div>'
            for label, value, css in (
                ("Users", summary.users, "cc-users-count"),
                ("Can dial out", summary.ready, "cc-ready-count" + (" cc-good" if summary.ready else "")),
                ("Cannot dial out", summary.not_ready, "cc-not-ready-count" + (" cc-bad" if summary.not_ready else "")),
            ))
        self.readiness_box.value = (f'<div class="cc-cards">{cards}</div>'
                                    f'<p class="cc-readiness-sentence">{html.escape(summary.sentence)}</p>')

    # ---- state ----

    def selection(self) -> Selection | None:
        """The users the form is about, or None (and an error beside the field) when none is chosen."""
        raise NotImplementedError

    def change(self) -> Change | None:
        raise NotImplementedError

    def show_error(self, field: str, message: str) -> None:
        self.errors[field].value = fmt.error_html(message)

    def clear_errors(self) -> None:
        for error in self.errors.values():
            error.value = ""
        self.status.value = ""

    def reset(self) -> None:
        """Forget the plan and the messages shown (the inputs stay)."""
        self.plan = None
        self.plan_box.layout.display = "none"
        self.clear_errors()

    def _inputs_changed(self, _change=None) -> None:
        """A plan shown no longer matches the inputs: hide it, so Apply cannot apply something else."""
        if self.plan is not None and not getattr(self, "_syncing", False):  # a refresh is not the admin's change
            self.plan = None
            self.plan_box.layout.display = "none"
            self.status.value = '<div class="cc-hint">The choices changed: plan again.</div>'

    # ---- handlers ----

    def _guarded(self, handler: Callable) -> Callable:
        """Show any failure in the form: no traceback ever reaches the page."""
        def run(_button=None):
            try:
                handler()
            except CommCreditsError as error:
                self.status.value = fmt.error_html(str(error))
            except Exception as error:  # noqa: BLE001 - the page must explain, never crash
                log.exception("license form failed")
                self.status.value = fmt.error_html(f"Something went wrong ({type(error).__name__}: {error}). "
                                                "Nothing was changed; reload the page and try again.")
        return run

    def _on_plan(self) -> None:
        self.clear_errors()
        self.plan = None
        self.plan_box.layout.display = "none"
        selection, change = self.selection(), self.change()
        if selection is None or change is None:
            self.status.value = fmt.error_html("Please fix the problems above.")
            return
        try:
            plan = plan_license_changes(self.store, selection, change)
        except InvalidInput as error:
            field = error.field if error.field in self.errors else None
            if field:
                self.show_error(field, error.message)
                self.status.value = fmt.error_html("Please fix the problems above.")
            else:
                self.status.value = fmt.error_html(error.message)
            return
        plan_html, downloads_html = self._plan_html(plan), self._downloads_html(plan)
        self.plan = plan
        self.plan_view.value = plan_html
        self.downloads.value = downloads_html
        self.apply_button.disabled = plan.nothing_to_do
        self.apply_button.description = "Record as done"
        self.m365_button.disabled = plan.nothing_to_do or not m365_ui.can_apply()
        self.m365_button.tooltip = None if m365_ui.can_apply() else "Connect on the Microsoft 365 page first"
        for part in (self.apply_hint, self.apply_button, self.m365_button):
            part.layout.display = "none" if plan.nothing_to_do else None
        left_out = plan.left_out_users.reset_index(drop=True)
        self.left_out_box.layout.display = "none" if left_out.empty else None
        if not left_out.empty:
            self.left_out.source = frame_rows(left_out)
            self.left_out.show()
        self.plan_box.layout.display = None
        self._after_plan(plan)
        if not plan.nothing_to_do:  # the next step, for keyboard users
            (self.apply_button if self.m365_button.disabled else self.m365_button).focus()

    def _after_plan(self, plan: Plan) -> None:
        """Hook for forms that show more after planning."""

    def _on_apply(self) -> None:
        plan = self.plan
        if plan is None or plan.nothing_to_do:
            return
        self.apply_button.disabled = True  # a second click would find the plan stale anyway
        try:
            applied = apply_plan(self.store, plan)
        except CommCreditsError as error:
            self.apply_button.disabled = False
            self.status.value = fmt.error_html(str(error))
            return
        self.apply_button.description = "Recorded"
        self.m365_button.disabled = True
        self.refresh()
        users = plan.users
        self.status.value = (
            f'<div class="cc-success">Recorded as done: {applied.changes} change{"s" if applied.changes != 1 else ""} '
            f'for {users} user{"s" if users != 1 else ""}. Nothing was changed in Microsoft 365 by the workbook. '
            f"{html.escape(readiness_summary(self.store).sentence)}</div>")

    def _on_apply_m365(self) -> None:
        from ..m365.apply import apply_plan_m365

        plan = self.plan
        if plan is None or plan.nothing_to_do:
            return
        self.m365_button.disabled = self.apply_button.disabled = True  # the plan is used up either way
        self.status.value = '<div class="cc-hint">Sending the changes to Microsoft 365…</div>'
        try:
            report = apply_plan_m365(self.ledger, plan, m365_ui.current_connection())
        except Exception:
            self.m365_button.disabled = self.apply_button.disabled = False  # nothing was sent or recorded
            raise
        self.m365_button.description = "Sent to Microsoft 365"
        self.refresh()
        self.status.value = m365_ui.apply_result_html(report) + (
            f'<p class="cc-readiness-after">{html.escape(readiness_summary(self.store).sentence)}</p>')

    def refresh(self) -> None:
        """Re-read the tenant (after apply, or when the page is shown again)."""
        self.refresh_readiness()

    # ---- plan in words ----

    def _plan_html(self, plan: Plan) -> str:
        head = plan.summary().splitlines()[0]
        if plan.nothing_to_do:
            head = "Nothing to change for these users."
        parts = [f'<h3 class="cc-section">The plan</h3><p class="cc-plan-summary">{html.escape(head)}</p>']
        # A user is either in the table (what they get, and what they still miss) or in the box (left out).
        if plan.left_out:
            items = "".join(f"<li>{html.escape(p)}</li>" for p in plan.left_out)
            count = len(plan.left_out_users)
            every = (f'<div class="cc-hint">All {fmt.count(count, self.locale)} users left out are listed under '
                     '"Users left out" below the plan, with a download.</div>' if count > EXAMPLES_SHOWN else "")
            parts.append(f'<div class="cc-problems"><b>Not in this plan, and why:</b><ul>{items}</ul>{every}</div>')
        if not plan.nothing_to_do:
            rows = []
            for upn, group in plan.changes.groupby("user_principal_name", sort=False):
                name = group["display_name"].iloc[0] or upn
                changes = "".join(f"<li>{html.escape(change_sentence(r))}</li>" for _, r in group.iterrows())
                missing = plan.missing.get(upn, ())
                still = ('<ul class="cc-missing">' + "".join(f"<li>{html.escape(m)}</li>" for m in missing) + "</ul>"
                         if missing else '<span class="cc-muted">nothing: can dial out once applied</span>')
                rows.append(f'<tr><td>{html.escape(str(name))}<div class="cc-upn">{html.escape(upn)}</div></td>'
                            f"<td><ul>{changes}</ul></td><td>{still}</td></tr>")
            parts.append('<table class="cc-table cc-plan-table"><thead><tr><th>User</th><th>Gets</th>'
                         f'<th>Still missing</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')
        return "".join(parts)

    def _left_out_html(self, users: pd.DataFrame) -> str:
        return fmt.html_table(users, labels={"display_name": "Display name", "user_principal_name": "Username",
                                             "why": "Why left out (what is missing)"},
                              css_class="cc-table cc-left-out", locale=self.locale)

    def exports(self, plan: Plan | None = None) -> dict[str, str]:
        """File name -> content of the three downloads for `plan` (default: the plan shown)."""
        import json

        plan = plan or self.plan
        if plan is None:
            return {}
        return {
            f"{self.file_prefix}-graph-batch.json": json.dumps(export_graph_batches(plan), indent=2),
            f"{self.file_prefix}.ps1": export_powershell(plan),
            f"{self.file_prefix}.csv": export_csv(plan),
        }

    def _downloads_html(self, plan: Plan) -> str:
        if plan.nothing_to_do:
            return ""
        files = self.exports(plan)
        labels = {".json": ("Graph $batch (JSON)", "application/json", "cc-download-graph"),
                  ".ps1": ("PowerShell script", "text/plain", "cc-download-powershell"),
                  ".csv": ("Spreadsheet (CSV)", "text/csv", "cc-download-csv")}
        links = "".join(download_link(text, name, *labels[name[name.rfind("."):]]) for name, text in files.items())
        return f'<div class="cc-downloads"><span>Download:</span>{links}</div>'


# ---------------------------------------------------------------------------------------------- Step 1

class LicensesForm(_PlanForm):
    """Step 1: pick users, choose Audio Conferencing and/or Teams Phone with a Calling Plan."""

    file_prefix = "step1-licenses-plan"

    def __init__(self, ledger: Ledger, *, locale: str | None = None):
        super().__init__(ledger, locale=locale)
        self.users = pd.DataFrame()
        self.chosen: set[str] = set()
        self._shown: list[str] = []
        self._syncing = False
        self.search = widgets.Text(description="Search", placeholder="Part of a name or sign-in name",
                                   style=LABEL_WIDTH, layout=widgets.Layout(width=FIELD_WIDTH))
        self.search.add_class("cc-search")
        self.department = self._filter_dropdown("Department", "cc-department")
        self.country = self._filter_dropdown("Country (usage location)", "cc-country")
        self.state = self._filter_dropdown("Can dial out?", "cc-state")
        self.user_list = widgets.SelectMultiple(description="Users", rows=12, style=LABEL_WIDTH,
                                                layout=widgets.Layout(width=FIELD_WIDTH))
        self.user_list.add_class("cc-users")
        self.select_all = widgets.Button(description="Select all shown", icon="check-square")
        self.select_all.add_class("cc-select-all")
        self.clear_selection = widgets.Button(description="Clear selection", icon="square")
        self.clear_selection.add_class("cc-clear-selection")
        self.chosen_line = widgets.HTML(layout=widgets.Layout(margin=ERROR_MARGIN))
        self.chosen_line.add_class("cc-chosen")
        self.audio_conferencing = widgets.Checkbox(
            description="Audio Conferencing: dial out from meetings", value=False, indent=False,
            layout=widgets.Layout(width="auto"))
        self.audio_conferencing.add_class("cc-audio-conferencing")
        self.teams_phone = widgets.Checkbox(
            description="Teams Phone with a Calling Plan: call phone numbers from Teams", value=False, indent=False,
            layout=widgets.Layout(width="auto"))
        self.teams_phone.add_class("cc-teams-phone")
        self.calling_plan = widgets.Dropdown(description="Calling Plan", options=[(license_name(sku), sku) for sku in USUAL_CALLING_PLANS],
                                             value=DOMESTIC_CALLING_PLAN_SKU, style=LABEL_WIDTH,
                                             layout=widgets.Layout(width=FIELD_WIDTH))
        self.calling_plan.add_class("cc-calling-plan")
        self.seats = widgets.HTML()
        self.seats.add_class("cc-seats")
        for widget in (self.search, self.department, self.country, self.state):
            widget.observe(self._filters_changed, names="value")
        self.user_list.observe(self._picked, names="value")
        for widget in (self.audio_conferencing, self.teams_phone, self.calling_plan):
            widget.observe(self._inputs_changed, names="value")
        self.teams_phone.observe(self._sync_visibility, names="value")
        self.select_all.on_click(self._guarded(self._on_select_all))
        self.clear_selection.on_click(self._guarded(self._on_clear))
        indent = widgets.Layout(margin="0 0 0 198px")
        self.widget = self._page(
            widgets.HTML('<h3 class="cc-section">1. Choose users</h3>'
                         '<div class="cc-hint">Search and filter, then pick users (Ctrl or Shift + click picks '
                         "several). Your picks stay chosen when you change the filters.</div>"),
            self.search, self.department, self.country, self.state, self.user_list,
            widgets.HBox([self.select_all, self.clear_selection], layout=indent),
            self.chosen_line, self._error_field("users"),
            widgets.HTML('<h3 class="cc-section">2. Choose licenses</h3>'
                         '<div class="cc-hint">Available seats of each calling license now (purchased, minus seats '
                         "not renewed, minus seats assigned). Users who already have a license keep it; nobody gets "
                         "one twice.</div>"),
            self.seats,
            widgets.VBox([self.audio_conferencing, self.teams_phone], layout=indent),
            self.calling_plan, self._error_field("licenses"),
            widgets.HTML('<h3 class="cc-section">3. Usage location</h3>'
                         '<div class="cc-hint">Microsoft assigns licenses only to users with a usage location. '
                         "This is set for chosen users who have none; others keep theirs.</div>"),
            self.usage_location, self._error_field("usage_location"),
            widgets.HBox([self.plan_button], layout=widgets.Layout(margin=BUTTON_ROW_MARGIN)),
        )
        self.widget.add_class("cc-licenses-form")
        self._sync_visibility()
        self.refresh()

    def _filter_dropdown(self, description: str, css: str) -> widgets.Dropdown:
        dropdown = widgets.Dropdown(description=description, options=[("All", ALL)], value=ALL, style=LABEL_WIDTH,
                                    layout=widgets.Layout(width=FIELD_WIDTH))
        dropdown.add_class(css)
        return dropdown

    def _sync_visibility(self, _change=None) -> None:
        self.calling_plan.layout.display = None if self.teams_phone.value else "none"

    # ---- user list ----

    def refresh(self) -> None:
        super().refresh()
        self.users = readiness(self.store)
        departments = sorted({d for d in self.users["department"].dropna() if d})
        countries = sorted({c for c in self.users["usage_location"].dropna() if c})
        self._syncing = True
        try:
            self._set_options(self.department, [("All departments", ALL)] + [(d, d) for d in departments])
            self._set_options(self.country, [("All countries", ALL), ("No usage location yet", NO_LOCATION)]
                              + [(country_label(c), c) for c in countries])
            self._set_options(self.state, [("Everyone", ALL), ("Cannot dial out", NOT_READY),
                                           ("Can dial out", READY)] + _reason_labels(self.ledger))
        finally:
            self._syncing = False
        self.chosen &= set(self.users["user_principal_name"])
        self._filters_changed()
        self.refresh_seats()

    def refresh_seats(self) -> None:
        """Free seats before planning, and the Calling Plan choices the tenant can actually use."""
        seats = license_seats(self.store)
        self.seats.value = seats_html(seats, self.locale)
        options = calling_plan_options(seats, self.locale)
        keep = self.calling_plan.value
        self._syncing = True
        try:
            self.calling_plan.options = options
            owned = set(seats["sku_id"])
            self.calling_plan.value = keep if keep in owned else default_calling_plan(seats, options)
        finally:
            self._syncing = False

    @staticmethod
    def _set_options(dropdown: widgets.Dropdown, options: list[tuple[str, str]]) -> None:
        keep = dropdown.value
        dropdown.options = options
        dropdown.value = keep if keep in {v for _, v in options} else ALL

    def shown_users(self) -> pd.DataFrame:
        return filter_users(self.users, self.search.value, self.department.value, self.country.value,
                            self.state.value)

    def _filters_changed(self, _change=None) -> None:
        if self._syncing:
            return
        shown = self.shown_users()
        self._shown = list(shown["user_principal_name"])
        self._syncing = True
        try:
            self.user_list.options = [(user_label(row), row["user_principal_name"]) for _, row in shown.iterrows()]
            self.user_list.value = tuple(u for u in self._shown if u in self.chosen)
        finally:
            self._syncing = False
        self._update_chosen_line()

    def _picked(self, _change=None) -> None:
        if self._syncing:
            return
        self._set_chosen((self.chosen - set(self._shown)) | set(self.user_list.value))

    def _set_chosen(self, chosen: set[str]) -> None:
        changed = chosen != self.chosen
        self.chosen = chosen
        if changed:
            self.errors["users"].value = ""
            self._inputs_changed()
        self._update_chosen_line()

    def _on_select_all(self) -> None:
        self._set_chosen(self.chosen | set(self._shown))
        self._syncing = True
        try:
            self.user_list.value = tuple(self._shown)
        finally:
            self._syncing = False

    def _on_clear(self) -> None:
        self._set_chosen(set())
        self._syncing = True
        try:
            self.user_list.value = ()
        finally:
            self._syncing = False

    def choose(self, upns) -> None:
        """Choose these users (as clicking them would)."""
        self._set_chosen(set(upns))
        self._filters_changed()

    def _update_chosen_line(self) -> None:
        n, shown = len(self.chosen), len(self._shown)
        hidden = len(self.chosen - set(self._shown))
        chosen = f"{fmt.count(n, self.locale)} user{'s' if n != 1 else ''} chosen"
        text = f"{chosen} · {fmt.count(shown, self.locale)} of {fmt.count(len(self.users), self.locale)} shown"
        if not shown:
            text = ("No users imported yet" if self.users.empty else "No users match the search and filters") + \
                f" · {chosen}"
        if hidden:
            text += f" · {fmt.count(hidden, self.locale)} chosen but hidden by the filters"
        self.chosen_line.value = f'<div class="cc-muted">{html.escape(text)}</div>'

    # ---- state ----

    def selection(self) -> Selection | None:
        if not self.chosen:
            self.show_error("users", "Choose at least one user: pick them in the list or click Select all shown.")
            return None
        return Selection.users(sorted(self.chosen))

    def change(self) -> Change | None:
        audio, phone = self.audio_conferencing.value, self.teams_phone.value
        if not (audio or phone):
            self.show_error("licenses", "Choose Audio Conferencing, Teams Phone with a Calling Plan, or both.")
            return None
        return Change(audio_conferencing=audio, teams_phone=phone, calling_plan=phone,
                      calling_plan_sku=self.calling_plan.value, usage_location=self.usage_location.value or None)


# ---------------------------------------------------------------------------------------------- Step 3

BULK = "bulk"
ONE = "one"


class CreditLicensesForm(_PlanForm):
    """Step 3: the Communication Credits license for everyone who can use it, or for one user."""

    file_prefix = "step3-credit-licenses-plan"

    def __init__(self, ledger: Ledger, *, locale: str | None = None):
        super().__init__(ledger, locale=locale)
        self.funding_notice = widgets.HTML()
        self.funding_notice.add_class("cc-funding-notice")
        self.mode = widgets.RadioButtons(
            options=[("Everyone with a calling license who lacks it", BULK), ("One user", ONE)], value=BULK,
            layout=widgets.Layout(width=FIELD_WIDTH, margin="0 0 0 198px"))
        self.mode.add_class("cc-credit-mode")
        self.user = widgets.Combobox(description="User", placeholder="Type part of a name, then pick",
                                     ensure_option=False, style=LABEL_WIDTH, layout=widgets.Layout(width=FIELD_WIDTH))
        self.user.add_class("cc-credit-user")
        fmt.submit_on_enter([self.user], self.plan_button)
        self._user_labels: dict[str, str] = {}
        self.mode.observe(self._sync_visibility, names="value")
        for widget in (self.mode, self.user):
            widget.observe(self._inputs_changed, names="value")
        self.widget = self._page(
            self.funding_notice,
            widgets.HTML('<h3 class="cc-section">1. Who gets the Communication Credits license</h3>'
                         '<div class="cc-hint">Calls paid from credits need this license next to Audio Conferencing '
                         "or a Calling Plan (E5 users too). Users without either are left out: give them a calling "
                         "license in Step 1 first.</div>"),
            self.mode, self.user, self._error_field("user"),
            widgets.HTML('<h3 class="cc-section">2. Usage location</h3>'
                         '<div class="cc-hint">Only for users who have none yet.</div>'),
            self.usage_location, self._error_field("usage_location"),
            widgets.HBox([self.plan_button], layout=widgets.Layout(margin=BUTTON_ROW_MARGIN)),
        )
        self.widget.add_class("cc-credit-licenses-form")
        self._sync_visibility()
        self.refresh()

    def _sync_visibility(self, _change=None) -> None:
        self.user.layout.display = None if self.mode.value == ONE else "none"
        self.errors["user"].value = ""

    def refresh(self) -> None:
        super().refresh()
        users = readiness(self.store)
        self._user_labels = {
            f"{row['display_name'] or row['user_principal_name']} ({row['user_principal_name']})":
                row["user_principal_name"] for _, row in users.iterrows()}
        self.user.options = tuple(self._user_labels)
        self.refresh_funding_notice()

    def refresh_funding_notice(self) -> None:
        if self.ledger.agreement is Agreement.MCA:
            text, css = ("Microsoft Customer Agreement: Communication Credits licenses are available without "
                         "buying credits; calls are billed in arrears."), "cc-notice"
        elif self._has_credit_seats():
            text, css = ("The organization is funded, so Communication Credits licenses are available "
                         "(seats appeared with the first funding in Step 2)."), "cc-notice"
        else:
            text, css = ("No Communication Credits licenses are available yet: Microsoft adds them when the "
                         "organization is funded for the first time. Add funds in Step 2, then come back here."), \
                "cc-notice cc-notice-warning"
        self.funding_notice.value = f'<div class="{css}">{html.escape(text)}</div>'

    def _has_credit_seats(self) -> bool:
        return bool(self.store.query("SELECT has_credit_seats FROM funding_status")[0][0])

    def _after_plan(self, plan: Plan) -> None:
        self.refresh_funding_notice()

    def selection(self) -> Selection | None:
        if self.mode.value == BULK:
            return Selection.everyone()
        typed = self.user.value.strip()
        upn = self._user_labels.get(typed) or next(
            (u for u in self._user_labels.values() if u.lower() == typed.lower()), None)
        if upn is None:
            self.show_error("user", "Choose a user from the list: type part of a name, then pick the user."
                            if typed else "Choose the user who should get the license.")
            return None
        return Selection.users([upn])

    def change(self) -> Change | None:
        return add_communication_credits(usage_location=self.usage_location.value or None)


def build_licenses_form(ledger: Ledger, *, locale: str | None = None) -> LicensesForm:
    """The Step 1 form for `ledger`."""
    return LicensesForm(ledger, locale=locale)


def build_credit_licenses_form(ledger: Ledger, *, locale: str | None = None) -> CreditLicensesForm:
    """The Step 3 form for `ledger`."""
    return CreditLicensesForm(ledger, locale=locale)
