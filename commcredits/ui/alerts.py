"""The alerts strip (top of Overview) and the Alerts page: current alerts, settings, test message, history.

The form only collects text; validation is `alerts.settings.parse_settings`, sending is `alerts.notify`.
Secrets typed here go to the OS keyring, never to the ledger or the notebook.
"""

from __future__ import annotations

import html
import os
import re

import ipywidgets as widgets
import pandas as pd

from ..alerts.checks import CHECK_TITLES, Alert, Severity
from ..alerts.notify import current_alerts, send_test
from ..alerts.settings import (
    SECRETS,
    SecretStoreUnavailable,
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
from ..errors import CommCreditsError, InvalidInput
from ..money import parse_typed_amount
from ..pages import page_title
from ..usage.lists import alert_messages
from . import format as fmt
from .kit import html_part, tagged
from .long_list import LongList

LABEL = {"description_width": "240px"}
WIDE = "620px"
OFFSET = "248px"  # where inputs start: the label column plus its gap


def alerts_strip_html(alerts: list[Alert]) -> str:
    """One line per alert, most severe first, each with its fix and a link to the page that fixes it."""
    if not alerts:
        return '<div class="cc-alerts"><div class="cc-alerts-clear">No alerts: every check passed.</div></div>'
    rows = "".join(
        f'<div class="cc-alert cc-alert-{a.severity.name.lower()}" data-check="{html.escape(a.check)}">'
        f'<span class="cc-alert-label">{html.escape(a.severity.label)}</span>'
        f'<span>{html.escape(a.sentence)} <span class="cc-alert-fix">{html.escape(a.fix)}</span> '
        f'<a href="{html.escape(a.page)}">{html.escape(page_title(a.page))} →</a></span></div>'
        for a in alerts
    )
    label = "Alerts" if any(a.severity >= Severity.WARNING for a in alerts) else "Notes"
    return f'<div class="cc-alerts" role="region" aria-label="{label}">{rows}</div>'


def history_csv_frame(sent: pd.DataFrame) -> pd.DataFrame:
    """Every alert message for the CSV download, times in UTC."""
    return pd.DataFrame(
        {
            "When (UTC)": sent["attempted_at"].map(fmt.utc_text),
            "Channel": sent["channel"],
            "To": sent["recipient"],
            "Check": sent["check_name"].map(lambda c: CHECK_TITLES.get(c, c)),
            "Kind": sent["kind"],
            "Severity": sent["severity"],
            "Message": sent["sentence"],
            "Status": sent["status"],
            "Attempts": sent["attempts"],
            "Error": sent["error"].fillna(""),
        }
    )


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


class AlertsPage:
    """The Alerts page. `widget` is what the notebook displays."""

    def __init__(self, ledger: Ledger, *, locale: str | None = None):
        self.ledger = ledger
        self.locale = locale or fmt.display_locale()
        s = load_settings(ledger.store)
        t = s.thresholds
        money = lambda v: "" if v is None else fmt.money(v, ledger.currency, self.locale)  # noqa: E731
        self.fields = {
            "runway_days": _text("Calls stop within (days)", t.runway_days),
            "low_balance": _text(f"Balance below ({ledger.currency})", money(t.low_balance), "optional"),
            "max_recharges_per_day": _text("Auto-recharges in 24 hours, at most", t.max_recharges_per_day),
            "monthly_recharge_budget": _text(
                f"Monthly recharge budget ({ledger.currency})", money(t.monthly_recharge_budget), "optional"
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
        for name, field in self.fields.items():
            tagged(field, f"cc-{name.replace('_', '-')}")
        indented(self.fields["teams_enabled"])
        self.errors = {
            name: indented(widgets.HTML(layout=widgets.Layout(margin=f"0 0 0 {OFFSET}"))) for name in self.fields
        }
        self.webhook_note = indented(
            html_part("cc-webhook-saved", value=self._webhook_note(), layout=widgets.Layout(margin=f"0 0 0 {OFFSET}"))
        )
        self.secret_notes = {
            name: indented(
                html_part(
                    "cc-secret-home",
                    f"cc-{name.replace('_', '-')}-home",
                    value=self._secret_note(name),
                    layout=widgets.Layout(margin=f"0 0 0 {OFFSET}"),
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
            alert_messages(ledger),
            self._history_html,
            filename="alert-messages.csv",
            noun="messages",
            export=history_csv_frame,
            css="cc-alert-history-list",
            locale=self.locale,
        )
        self.save_button.on_click(self._save)
        self.test_button.on_click(self._test)
        self.refresh()

        def section(title):
            return widgets.HTML(
                f'<h2 class="cc-section" style="font:600 16px system-ui;margin:16px 0 4px">{title}</h2>'
            )

        def rows(names):
            return [
                w for n in names for w in (self.fields[n], self.secret_notes.get(n), self.errors[n]) if w is not None
            ]

        self.widget = widgets.VBox(
            [
                widgets.HTML(fmt.STYLE),
                section("Alerts now"),
                self.current,
                section("When to warn"),
                *rows(
                    [
                        "runway_days",
                        "low_balance",
                        "max_recharges_per_day",
                        "monthly_recharge_budget",
                        "stale_import_days",
                    ]
                ),
                section("E-mail"),
                *rows(["email_to", "email_from", "smtp_host", "smtp_port", "smtp_username", "smtp_password"]),
                section("Microsoft Teams"),
                *rows(["teams_enabled", "teams_webhook_url"]),
                self.webhook_note,
                section("Links"),
                *rows(["dashboard_url"]),
                indented(
                    widgets.HBox(
                        [self.save_button, self.test_button],
                        layout=widgets.Layout(margin=f"12px 0 0 {OFFSET}", flex_flow="row wrap"),
                    )
                ),
                self.status,
                section("Messages sent"),
                self.history.widget,
            ]
        )
        self.widget.add_class("cc-alerts-page")

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
        sent = sent.assign(
            check_name=sent["check_name"].map(lambda c: CHECK_TITLES.get(c, c)), error=sent["error"].fillna("")
        )
        return fmt.html_table(
            sent,
            labels={
                "attempted_at": "When",
                "channel": "Channel",
                "recipient": "To",
                "check_name": "Check",
                "kind": "Kind",
                "severity": "Severity",
                "sentence": "Message",
                "status": "Status",
                "attempts": "Attempts",
                "error": "Error",
            },
            instant_columns=("attempted_at",),
            css_class="cc-table cc-alert-history",
            locale=self.locale,
        )

    def _values(self) -> tuple[dict, list[tuple[str, str]]]:
        values = {name: field.value for name, field in self.fields.items()}
        problems = []
        for name in ("low_balance", "monthly_recharge_budget"):
            text = values[name].strip()
            try:
                values[name] = str(parse_typed_amount(text, self.ledger.currency, self.locale, name)) if text else None
            except InvalidInput as exc:
                problems.append((exc.field, exc.message))
                values[name] = None
        url = values.pop("teams_webhook_url").strip()
        password = values.pop("smtp_password")
        if url:
            try:
                validate_webhook_url(url)
            except InvalidInput as exc:
                problems.append((exc.field, exc.message))
        if values["teams_enabled"] and not url and not get_secret("teams_webhook_url"):
            problems.append(("teams_webhook_url", "paste the URL the Workflows webhook shows in Teams."))
        return {**values, "_url": url, "_password": password}, problems

    def _problems_in_form(self) -> tuple[dict, object, dict[str, list[str]]]:
        """What the form says: the values, the settings they make, and every problem as field -> messages."""
        values, problems = self._values()
        secrets = {"teams_webhook_url": values.pop("_url"), "smtp_password": values.pop("_password")}
        settings, more = parse_settings(self.ledger.currency, **values)
        by_field: dict[str, list[str]] = {}
        for name, message in problems + [p for p in more if p[0] not in {q[0] for q in problems}]:
            by_field.setdefault(name, []).append(self._with_subject(name, message))
        return secrets, settings, by_field

    def _with_subject(self, name: str, message: str) -> str:
        """'is required to send e-mail.' -> 'SMTP server is required to send e-mail.'"""
        label = self.label(name) if name in self.fields else name.replace("_", " ")
        return f"{label} {message}" if message[:1].islower() else f"{label}: {message}"

    def _show_problems(self, by_field: dict[str, list[str]], what: str) -> None:
        for name, messages in by_field.items():
            self.errors[name].value = fmt.error_html(" ".join(messages))
        n = len(by_field)
        listed = "".join(f"<li>{html.escape(m)}</li>" for messages in by_field.values() for m in messages)
        self.status.value = (
            f'<div class="cc-error">{html.escape(what)}: {n} '
            f"{'field needs' if n == 1 else 'fields need'} attention.</div>"
            f'<ul class="cc-problems">{listed}</ul>'
        )

    def _save(self, _=None) -> None:
        for error in self.errors.values():
            error.value = ""
        secrets, settings, by_field = self._problems_in_form()
        if by_field:
            self._show_problems(by_field, "Nothing was saved")
            return
        try:
            save_settings(self.ledger.store, settings)
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
        lines = [
            f"{r.channel} to {r.recipient}: " + ("sent" if r.outcome.ok else f"not sent. {r.outcome.error}")
            for r in results
        ]
        ok = all(r.outcome.ok for r in results)
        unsaved = (
            ""
            if settings == load_settings(self.ledger.store)
            else ("<br>These settings are not saved yet: click Save settings to keep them.")
        )
        self.status.value = (
            f'<div class="{"cc-success" if ok else "cc-error"}" role="status">'
            + "<br>".join(html.escape(line) for line in lines)
            + unsaved
            + "</div>"
        )
        self.refresh()


def with_code(text: str) -> str:
    """Escaped text with `quoted` words as <code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def _from_env(name: str) -> bool:
    return bool(os.environ.get(SECRETS[name], "").strip())


def build_alerts_page(ledger: Ledger, *, locale: str | None = None) -> widgets.VBox:
    """The Alerts page as a widget."""
    return AlertsPage(ledger, locale=locale).widget
