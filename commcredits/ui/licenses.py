"""Step 1: pick users, then give them Audio Conferencing and/or Teams Phone with a Calling Plan.

The user picker (search, filters, several picks kept across filters) and the tenant's calling seats (their words
in `ui.license_seats`); the plan, apply and downloads come from `PlanForm`.
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import pandas as pd

from ..credits.ledger import Ledger
from ..licensing.catalog import DOMESTIC_CALLING_PLAN_SKU, license_name
from ..licensing.plans import Change, Selection
from ..licensing.readiness import license_seats, readiness
from . import format as fmt
from .kit import html_part, tagged
from .license_seats import USUAL_CALLING_PLANS, calling_plan_options, default_calling_plan, seats_html
from .plan_form import BUTTON_ROW_MARGIN, ERROR_MARGIN, FIELD_WIDTH, LABEL_WIDTH, PlanForm
from .plan_view import country_label

ALL = ""
NO_LOCATION = "-"
READY = "ready"
NOT_READY = "not_ready"

__all__ = ["LicensesForm", "build_licenses_form", "filter_users", "seats_html", "user_label"]  # seats_html: tests

CHOOSE_USERS = (
    '<h3 class="cc-section">1. Choose users</h3>'
    '<div class="cc-hint">Search and filter, then pick users<span class="cc-mouse-only"> (Ctrl '
    'or Shift + click picks several)</span><span class="cc-touch-only"> (tap each one you want)'
    "</span>. Your picks stay chosen when you change the filters.</div>"
)
CHOOSE_LICENSES = (
    '<h3 class="cc-section">2. Choose licenses</h3>'
    '<div class="cc-hint">Available seats of each calling license now (purchased, minus seats '
    "not renewed, minus seats assigned). Users who already have a license keep it; nobody gets "
    "one twice.</div>"
)
USAGE_LOCATION = (
    '<h3 class="cc-section">3. Usage location</h3>'
    '<div class="cc-hint">Microsoft assigns licenses only to users with a usage location. '
    "This is set for chosen users who have none; others keep theirs.</div>"
)


def filter_users(
    users: pd.DataFrame, search: str = "", department: str = ALL, country: str = ALL, state: str = ALL
) -> pd.DataFrame:
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


def _reason_labels(ledger: Ledger) -> list[tuple[str, str]]:
    rows = ledger.store.query("SELECT code, summary_one FROM readiness_reasons ORDER BY sort_order")
    return [(text[0].upper() + text[1:], code) for code, text in rows]


def _tick_box(description: str, css: str) -> widgets.Checkbox:
    return tagged(
        widgets.Checkbox(description=description, value=False, indent=False, layout=widgets.Layout(width="auto")),
        css,
    )


# ---------------------------------------------------------------------------------------------- Step 1


class LicensesForm(PlanForm):
    """Step 1: pick users, choose Audio Conferencing and/or Teams Phone with a Calling Plan."""

    file_prefix = "step1-licenses-plan"

    def __init__(self, ledger: Ledger, *, locale: str | None = None):
        super().__init__(ledger, locale=locale)
        self.users = pd.DataFrame()
        self.chosen: set[str] = set()
        self._shown: list[str] = []
        self._syncing = False
        self._user_picker()
        self._license_choices()
        for widget in (self.search, self.department, self.country, self.state):
            widget.observe(self._filters_changed, names="value")
        self.user_list.observe(self._picked, names="value")
        for widget in (self.audio_conferencing, self.teams_phone, self.calling_plan):
            widget.observe(self._inputs_changed, names="value")
        self.teams_phone.observe(self._sync_visibility, names="value")
        self.select_all.on_click(self._guarded(self._on_select_all))
        self.clear_selection.on_click(self._guarded(self._on_clear))
        self.widget = tagged(self._page(*self._sections()), "cc-licenses-form")
        self._sync_visibility()
        self.refresh()

    def _user_picker(self) -> None:
        """Search, the three filters, the user list, select all / clear, and how many are chosen."""
        self.search = tagged(
            widgets.Text(
                description="Search",
                placeholder="Part of a name or sign-in name",
                style=LABEL_WIDTH,
                layout=widgets.Layout(width=FIELD_WIDTH),
            ),
            "cc-search",
        )
        self.department = self._filter_dropdown("Department", "cc-department")
        self.country = self._filter_dropdown("Country (usage location)", "cc-country")
        self.state = self._filter_dropdown("Can dial out?", "cc-state")
        self.user_list = tagged(
            widgets.SelectMultiple(
                description="Users", rows=12, style=LABEL_WIDTH, layout=widgets.Layout(width=FIELD_WIDTH)
            ),
            "cc-users",
        )
        self.select_all = tagged(widgets.Button(description="Select all shown", icon="check-square"), "cc-select-all")
        self.clear_selection = tagged(
            widgets.Button(description="Clear selection", icon="square"), "cc-clear-selection"
        )
        self.chosen_line = html_part("cc-chosen", layout=widgets.Layout(margin=ERROR_MARGIN))

    def _license_choices(self) -> None:
        """Audio Conferencing, Teams Phone with a Calling Plan (and which one), and the free seats."""
        self.audio_conferencing = _tick_box("Audio Conferencing: dial out from meetings", "cc-audio-conferencing")
        self.teams_phone = _tick_box("Teams Phone with a Calling Plan: call phone numbers from Teams", "cc-teams-phone")
        self.calling_plan = tagged(
            widgets.Dropdown(
                description="Calling Plan",
                options=[(license_name(sku), sku) for sku in USUAL_CALLING_PLANS],
                value=DOMESTIC_CALLING_PLAN_SKU,
                style=LABEL_WIDTH,
                layout=widgets.Layout(width=FIELD_WIDTH),
            ),
            "cc-calling-plan",
        )
        self.seats = html_part("cc-seats")

    def _sections(self) -> list[widgets.Widget]:
        """1. Choose users, 2. Choose licenses, 3. Usage location, then the Plan button."""
        indent = widgets.Layout(margin="0 0 0 198px")
        return [
            widgets.HTML(CHOOSE_USERS),
            self.search,
            self.department,
            self.country,
            self.state,
            self.user_list,
            widgets.HBox([self.select_all, self.clear_selection], layout=indent),
            self.chosen_line,
            self._error_field("users"),
            widgets.HTML(CHOOSE_LICENSES),
            self.seats,
            widgets.VBox([self.audio_conferencing, self.teams_phone], layout=indent),
            self.calling_plan,
            self._error_field("licenses"),
            widgets.HTML(USAGE_LOCATION),
            self.usage_location,
            self._error_field("usage_location"),
            widgets.HBox([self.plan_button], layout=widgets.Layout(margin=BUTTON_ROW_MARGIN)),
        ]

    def _filter_dropdown(self, description: str, css: str) -> widgets.Dropdown:
        return tagged(
            widgets.Dropdown(
                description=description,
                options=[("All", ALL)],
                value=ALL,
                style=LABEL_WIDTH,
                layout=widgets.Layout(width=FIELD_WIDTH),
            ),
            css,
        )

    def _sync_visibility(self, _change=None) -> None:
        self.calling_plan.layout.display = None if self.teams_phone.value else "none"

    # ---- user list ----

    def refresh(self) -> None:
        super().refresh()
        self.users = readiness(self.ledger)
        departments = sorted({d for d in self.users["department"].dropna() if d})
        countries = sorted({c for c in self.users["usage_location"].dropna() if c})
        self._syncing = True
        try:
            self._set_options(self.department, [("All departments", ALL)] + [(d, d) for d in departments])
            self._set_options(
                self.country,
                [("All countries", ALL), ("No usage location yet", NO_LOCATION)]
                + [(country_label(c), c) for c in countries],
            )
            self._set_options(
                self.state,
                [("Everyone", ALL), ("Cannot dial out", NOT_READY), ("Can dial out", READY)]
                + _reason_labels(self.ledger),
            )
        finally:
            self._syncing = False
        self.chosen &= set(self.users["user_principal_name"])
        self._filters_changed()
        self.refresh_seats()

    def refresh_seats(self) -> None:
        """Free seats before planning, and the Calling Plan choices the tenant can actually use."""
        seats = license_seats(self.ledger)
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
        return filter_users(self.users, self.search.value, self.department.value, self.country.value, self.state.value)

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
            text = (
                "No users imported yet" if self.users.empty else "No users match the search and filters"
            ) + f" · {chosen}"
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
        return Change(
            audio_conferencing=audio,
            teams_phone=phone,
            calling_plan=phone,
            calling_plan_sku=self.calling_plan.value,
            usage_location=self.usage_location.value or None,
        )


def build_licenses_form(ledger: Ledger, *, locale: str | None = None) -> LicensesForm:
    """The Step 1 form for `ledger`."""
    return LicensesForm(ledger, locale=locale)
