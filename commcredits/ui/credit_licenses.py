"""Step 3: the Communication Credits license for everyone who can use it, or for one user."""

from __future__ import annotations

import html

import ipywidgets as widgets

from ..credits.ledger import Ledger
from ..licensing.plans import Change, Plan, Selection, add_communication_credits
from ..licensing.readiness import readiness
from . import format as fmt
from .funding_guide import licenses_notice
from .plan_form import BUTTON_ROW_MARGIN, FIELD_WIDTH, LABEL_WIDTH, PlanForm

BULK = "bulk"
ONE = "one"


class CreditLicensesForm(PlanForm):
    """Step 3: the Communication Credits license for everyone who can use it, or for one user."""

    file_prefix = "step3-credit-licenses-plan"

    def __init__(self, ledger: Ledger, *, locale: str | None = None):
        super().__init__(ledger, locale=locale)
        self.funding_notice = widgets.HTML()
        self.funding_notice.add_class("cc-funding-notice")
        self.mode = widgets.RadioButtons(
            options=[("Everyone with a calling license who lacks it", BULK), ("One user", ONE)],
            value=BULK,
            layout=widgets.Layout(width=FIELD_WIDTH, margin="0 0 0 198px"),
        )
        self.mode.add_class("cc-credit-mode")
        self.user = widgets.Combobox(
            description="User",
            placeholder="Type part of a name, then pick",
            ensure_option=False,
            style=LABEL_WIDTH,
            layout=widgets.Layout(width=FIELD_WIDTH),
        )
        self.user.add_class("cc-credit-user")
        fmt.submit_on_enter([self.user], self.plan_button)
        self._user_labels: dict[str, str] = {}
        self.mode.observe(self._sync_visibility, names="value")
        for widget in (self.mode, self.user):
            widget.observe(self._inputs_changed, names="value")
        self.widget = self._page(
            self.funding_notice,
            widgets.HTML(
                '<h3 class="cc-section">1. Who gets the Communication Credits license</h3>'
                '<div class="cc-hint">Calls paid from credits need this license next to Audio Conferencing '
                "or a Calling Plan (E5 users too). Users without either are left out: give them a calling "
                "license in Step 1 first.</div>"
            ),
            self.mode,
            self.user,
            self._error_field("user"),
            widgets.HTML(
                '<h3 class="cc-section">2. Usage location</h3>'
                '<div class="cc-hint">Only for users who have none yet.</div>'
            ),
            self.usage_location,
            self._error_field("usage_location"),
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
        users = readiness(self.ledger)
        self._user_labels = {
            f"{row['display_name'] or row['user_principal_name']} ({row['user_principal_name']})": row[
                "user_principal_name"
            ]
            for _, row in users.iterrows()
        }
        self.user.options = tuple(self._user_labels)
        self.refresh_funding_notice()

    def refresh_funding_notice(self) -> None:
        text, warning = licenses_notice(self.ledger.agreement, self._has_credit_seats())
        css = "cc-notice cc-notice-warning" if warning else "cc-notice"
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
            (u for u in self._user_labels.values() if u.lower() == typed.lower()), None
        )
        if upn is None:
            self.show_error(
                "user",
                "Choose a user from the list: type part of a name, then pick the user."
                if typed
                else "Choose the user who should get the license.",
            )
            return None
        return Selection.users([upn])

    def change(self) -> Change | None:
        return add_communication_credits(usage_location=self.usage_location.value or None)


def build_credit_licenses_form(ledger: Ledger, *, locale: str | None = None) -> CreditLicensesForm:
    """The Step 3 form for `ledger`."""
    return CreditLicensesForm(ledger, locale=locale)
