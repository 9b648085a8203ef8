"""The alerts strip (top of Overview) and the Alerts page: current alerts, settings, test message, history.

The form only collects text; validation is `alerts.settings.parse_settings`, sending is `alerts.notify`.
Secrets typed here go to the OS keyring, never to the ledger or the notebook.
"""

from __future__ import annotations

import html
import os

import ipywidgets as widgets
import pandas as pd

from ..alerts.notify import current_alerts, send_test
from ..alerts.settings import (
    SECRETS,
    get_secret,
    load_settings,
    mask_url,
    parse_settings,
    save_settings,
    secret_home,
    set_secret,
    validate_webhook_url,
)
from ..credits.ledger import Ledger
from ..errors import CommCreditsError, InvalidInput, Problem, SecretStoreUnavailable
from ..money import parse_typed_amount
from ..usage.lists import alert_messages
from . import format as fmt
from .alerts_views import (
    alerts_strip_html,
    history_csv_frame,
    history_table_html,
    problems_html,
    test_message_html,
    with_code,
)
from .kit import html_part, tagged
from .long_list import LongList

LABEL = {"description_width": "240px"}
WIDE = "620px"
OFFSET = "248px"  # where inputs start: the label column plus its gap
__all__ = ["AlertsPage", "alerts_strip_html", "build_alerts_page", "history_csv_frame", "with_code"]


def indented(widget):
    """Mark a widget that lines up with the inputs (OFFSET from the left): on a narrow screen, where labels go
    above their fields, the page template drops that indent (class cc-indent)."""
    return tagged(widget, "cc-indent")


def _text(description, value="", placeholder="", password=False):
    kind = widgets.Password if password else widgets.Text
    return kind(
        description=description,
        value=str(value),
        placeholder=placeholder,
        style=LABEL,
        layout=widgets.Layout(width=WIDE),
    )


def _section(title: str) -> widgets.HTML:
    return widgets.HTML(f'<h2 class="cc-section" style="font:600 16px system-ui;margin:16px 0 4px">{title}</h2>')


class AlertsPage:
    """The Alerts page. `widget` is what the notebook displays."""

    def __init__(self, ledger: Ledger, *, locale: str | None = None):
        self.ledger = ledger
        self.locale = locale or fmt.display_locale()
        self.fields = self._settings_fields()
        self._notes_and_buttons()
        self.save_button.on_click(self._save)
        self.test_button.on_click(self._test)
        self.refresh()
        self.widget = tagged(widgets.VBox(self._layout()), "cc-alerts-page")

    def _settings_fields(self) -> dict[str, widgets.Widget]:
        """One field per setting, filled with the saved settings (secrets only say whether one is saved)."""
        s = load_settings(self.ledger)
        t = s.thresholds
        currency = self.ledger.currency
        money = lambda v: "" if v is None else fmt.money(v, currency, self.locale)  # noqa: E731
        fields = {
            "runway_days": _text("Calls stop within (days)", t.runway_days),
            "low_balance": _text(f"Balance below ({currency})", money(t.low_balance), "optional"),
            "max_recharges_per_day": _text("Auto-recharges in 24 hours, at most", t.max_recharges_per_day),
            "monthly_recharge_budget": _text(
                f"Monthly recharge budget ({currency})", money(t.monthly_recharge_budget), "optional"
            ),
            "stale_import_days": _text("No call logs imported for (days)", t.stale_import_days),
            "email_to": widgets.Textarea(
                description="E-mail alerts to",
                value=", ".join(s.email_to),
                placeholder="it-admins@contoso.com, finance@contoso.com",
                style=LABEL,
                layout=widgets.Layout(width=WIDE, height="56px"),
            ),
            "email_from": _text("Send from", s.email_from, "alerts@contoso.com"),
            "smtp_host": _text("SMTP server", s.smtp_host, "smtp.office365.com"),
            "smtp_port": _text("SMTP port (STARTTLS)", s.smtp_port),
            "smtp_username": _text("SMTP sign-in name", s.smtp_username, "alerts@contoso.com"),
            "smtp_password": _text("SMTP password", password=True, placeholder=self._secret_hint("smtp_password")),
            "teams_enabled": widgets.Checkbox(
                description="Post alerts to a Teams channel (Workflows webhook)",
                value=s.teams_enabled,
                indent=False,
                layout=widgets.Layout(margin=f"4px 0 4px {OFFSET}", width="auto"),
            ),
            "teams_webhook_url": _text(
                "Teams webhook URL", password=True, placeholder=self._secret_hint("teams_webhook_url")
            ),
            "dashboard_url": _text("Dashboard address (for links)", s.dashboard_url),
        }
        for name, field in fields.items():
            tagged(field, f"cc-{name.replace('_', '-')}")
        indented(fields["teams_enabled"])
        return fields

    def _notes_and_buttons(self) -> None:
        """Each field's error line, where secrets are kept, the buttons, the status and the lists."""
        under_field = f"0 0 0 {OFFSET}"
        self.errors = {name: indented(widgets.HTML(layout=widgets.Layout(margin=under_field))) for name in self.fields}
        self.webhook_note = indented(
            html_part("cc-webhook-saved", value=self._webhook_note(), layout=widgets.Layout(margin=under_field))
        )
        self.secret_notes = {
            name: indented(
                html_part(
                    "cc-secret-home",
                    f"cc-{name.replace('_', '-')}-home",
                    value=self._secret_note(name),
                    layout=widgets.Layout(margin=under_field),
                )
            )
            for name in SECRETS
        }
        self.save_button = widgets.Button(
            description="Save settings", button_style="primary", icon="check", layout=widgets.Layout(width="auto")
        )
        self.test_button = widgets.Button(
            description="Send a test message",
            icon="paper-plane",
            layout=widgets.Layout(width="auto", margin="0 0 0 8px"),
        )
        self.status = indented(html_part("cc-status", layout=widgets.Layout(margin=f"4px 0 0 {OFFSET}")))
        self.current = widgets.HTML()
        self.history = LongList(
            alert_messages(self.ledger),
            self._history_html,
            filename="alert-messages.csv",
            noun="messages",
            export=history_csv_frame,
            css="cc-alert-history-list",
            locale=self.locale,
        )

    def _rows(self, names: list[str]) -> list[widgets.Widget]:
        """Each named field with its secret note (if any) and its error line."""
        return [w for n in names for w in (self.fields[n], self.secret_notes.get(n), self.errors[n]) if w is not None]

    def _layout(self) -> list[widgets.Widget]:
        buttons = indented(
            widgets.HBox(
                [self.save_button, self.test_button],
                layout=widgets.Layout(margin=f"12px 0 0 {OFFSET}", flex_flow="row wrap"),
            )
        )
        return [
            widgets.HTML(fmt.STYLE),
            _section("Alerts now"),
            self.current,
            _section("When to warn"),
            *self._rows(
                ["runway_days", "low_balance", "max_recharges_per_day", "monthly_recharge_budget", "stale_import_days"]
            ),
            _section("E-mail"),
            *self._rows(["email_to", "email_from", "smtp_host", "smtp_port", "smtp_username", "smtp_password"]),
            _section("Microsoft Teams"),
            *self._rows(["teams_enabled", "teams_webhook_url"]),
            self.webhook_note,
            _section("Links"),
            *self._rows(["dashboard_url"]),
            buttons,
            self.status,
            _section("Messages sent"),
            self.history.widget,
        ]

    @staticmethod
    def _secret_hint(name: str) -> str:
        return "saved (type to replace)" if get_secret(name) else "not saved"

    @staticmethod
    def _secret_note(name: str) -> str:
        return f'<span class="cc-note">{with_code(secret_home(name))}</span>'

    def label(self, name: str) -> str:
        """The words beside a field, to name it in a message."""
        return self.fields[name].description

    @staticmethod
    def _webhook_note() -> str:
        url = get_secret("teams_webhook_url")
        if not url:
            return '<span class="cc-note">No webhook URL saved.</span>'
        where = (
            "environment variable " + SECRETS["teams_webhook_url"] if _from_env("teams_webhook_url") else "OS keyring"
        )
        return f'<span class="cc-note">Saved in the {html.escape(where)}: {html.escape(mask_url(url))}</span>'

    def refresh(self) -> None:
        self.current.value = alerts_strip_html(current_alerts(self.ledger))
        self.history.show()

    def _history_html(self, sent: pd.DataFrame) -> str:
        return history_table_html(sent, self.locale)

    def _values(self) -> tuple[dict, list[Problem]]:
        values = {name: field.value for name, field in self.fields.items()}
        problems = []
        for name in ("low_balance", "monthly_recharge_budget"):
            text = values[name].strip()
            try:
                values[name] = str(parse_typed_amount(text, self.ledger.currency, self.locale, name)) if text else None
            except InvalidInput as exc:
                problems.append(Problem(exc.field, exc.message))
                values[name] = None
        url = values.pop("teams_webhook_url").strip()
        password = values.pop("smtp_password")
        if url:
            try:
                validate_webhook_url(url)
            except InvalidInput as exc:
                problems.append(Problem(exc.field, exc.message))
        if values["teams_enabled"] and not url and not get_secret("teams_webhook_url"):
            problems.append(Problem("teams_webhook_url", "paste the URL the Workflows webhook shows in Teams."))
        return {**values, "_url": url, "_password": password}, problems

    def _problems_in_form(self) -> tuple[dict, object, dict[str, list[str]]]:
        """What the form says: the values, the settings they make, and every problem as field -> messages."""
        values, problems = self._values()
        secrets = {"teams_webhook_url": values.pop("_url"), "smtp_password": values.pop("_password")}
        settings, more = parse_settings(self.ledger.currency, **values)
        by_field: dict[str, list[str]] = {}
        for p in problems + [p for p in more if p.field not in {q.field for q in problems}]:
            by_field.setdefault(p.field, []).append(self._with_subject(p.field, p.message))
        return secrets, settings, by_field

    def _with_subject(self, name: str, message: str) -> str:
        """'is required to send e-mail.' -> 'SMTP server is required to send e-mail.'"""
        label = self.label(name) if name in self.fields else name.replace("_", " ")
        return f"{label} {message}" if message[:1].islower() else f"{label}: {message}"

    def _show_problems(self, by_field: dict[str, list[str]], what: str) -> None:
        for name, messages in by_field.items():
            self.errors[name].value = fmt.error_html(" ".join(messages))
        self.status.value = problems_html(by_field, what)

    def _save(self, _=None) -> None:
        for error in self.errors.values():
            error.value = ""
        secrets, settings, by_field = self._problems_in_form()
        if by_field:
            self._show_problems(by_field, "Nothing was saved")
            return
        try:
            save_settings(self.ledger, settings)
        except CommCreditsError as exc:
            self.status.value = fmt.error_html(str(exc))
            return
        not_kept = []  # a machine without a keyring still saves every other setting
        for name, value in secrets.items():
            try:
                if value.strip():
                    set_secret(name, value.strip())
                    self.fields[name].value = ""
            except SecretStoreUnavailable:
                not_kept.append(name)
        for name in SECRETS:
            self.fields[name].placeholder = self._secret_hint(name)
            self.secret_notes[name].value = self._secret_note(name)
        self.webhook_note.value = self._webhook_note()
        saved = (
            '<div class="cc-success">Settings saved. <code>commcredits check</code> uses them from its next run.</div>'
        )
        if not_kept:
            saved += (
                '<div class="cc-error">'
                + with_code(
                    " ".join(
                        f"{self.label(name)} not kept: this computer has no OS keyring. Set the environment variable "
                        f"`{SECRETS[name]}` for the dashboard and for `commcredits check`."
                        for name in not_kept
                    )
                )
                + "</div>"
            )
        self.status.value = saved
        self.refresh()

    def _test(self, _=None) -> None:
        """Send a test message with what the form shows (typed secrets included), without saving it."""
        for error in self.errors.values():
            error.value = ""
        secrets, settings, by_field = self._problems_in_form()
        if by_field:
            self._show_problems(by_field, "No test message was sent")
            return
        typed = {name: value.strip() for name, value in secrets.items() if value.strip()}
        self.test_button.disabled = True
        self.test_button.description = "Sending…"
        self.status.value = '<div class="cc-phase" role="status">Sending the test message…</div>'
        try:
            results = send_test(
                self.ledger, settings=settings, secrets=lambda name: typed.get(name) or get_secret(name)
            )
        except CommCreditsError as exc:
            self.status.value = fmt.error_html(str(exc))
            return
        finally:
            self.test_button.disabled = False
            self.test_button.description = "Send a test message"
        if not results:
            self.status.value = fmt.error_html(
                "No channel is set up: type e-mail recipients and an SMTP server, or "
                "tick Teams and paste its webhook URL."
            )
            return
        saved = settings == load_settings(self.ledger)
        self.status.value = test_message_html(results, saved=saved)
        self.refresh()


def _from_env(name: str) -> bool:
    return bool(os.environ.get(SECRETS[name], "").strip())


def build_alerts_page(ledger: Ledger, *, locale: str | None = None) -> widgets.VBox:
    """The Alerts page as a widget."""
    return AlertsPage(ledger, locale=locale).widget
