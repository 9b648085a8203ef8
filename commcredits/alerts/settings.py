"""Alert settings: thresholds and recipients in the ledger (append-only), secrets outside it.

The SMTP password and the Teams webhook URL (whose query string is the credential) never go into the ledger
file or a notebook: they are read from environment variables first (for cron and Task Scheduler), then from
the OS keyring (`keyring`: Windows Credential Manager, macOS Keychain, Secret Service on Linux).
"""

from __future__ import annotations

import os
import re
import urllib.parse
from dataclasses import dataclass, field
from decimal import Decimal

from ..credits.ledger import Ledger
from ..errors import InvalidInput, Problem, SecretStoreUnavailable
from ..money import parse_amount
from ..store import store_of
from ..versioned import append_setting, latest_setting
from .model import Thresholds

KEYRING_SERVICE = "commcredits"
SECRETS = {  # name -> environment variable that overrides the keyring
    "smtp_password": "COMMCREDITS_SMTP_PASSWORD",
    "teams_webhook_url": "COMMCREDITS_TEAMS_WEBHOOK_URL",
}
DEFAULT_DASHBOARD_URL = "http://127.0.0.1:8866/voila/render/"
EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")


@dataclass(frozen=True)
class AlertSettings:
    """Thresholds, recipients and the SMTP server (no secrets)."""

    thresholds: Thresholds = field(default_factory=Thresholds)
    email_to: tuple[str, ...] = ()
    email_from: str = ""
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_username: str = ""
    teams_enabled: bool = False
    dashboard_url: str = DEFAULT_DASHBOARD_URL

    @property
    def email_enabled(self) -> bool:
        return bool(self.email_to and self.smtp_host)

    def page_url(self, page: str) -> str:
        return urllib.parse.urljoin(
            self.dashboard_url if self.dashboard_url.endswith("/") else self.dashboard_url + "/", page
        )


def _whole(value, field_name: str, low: int, high: int) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise InvalidInput(field_name, f"{value!r} is not a whole number.") from None
    if not low <= number <= high:
        raise InvalidInput(field_name, f"must be between {low} and {high}.")
    return number


def _optional_amount(value, currency: str, field_name: str) -> Decimal | None:
    if value is None or str(value).strip() == "":
        return None
    return parse_amount(value, currency, field_name)


def parse_settings(
    currency: str,
    *,
    runway_days=14,
    low_balance=None,
    max_recharges_per_day=3,
    monthly_recharge_budget=None,
    stale_import_days=7,
    email_to="",
    email_from="",
    smtp_host="",
    smtp_port=587,
    smtp_username="",
    teams_enabled=False,
    dashboard_url=DEFAULT_DASHBOARD_URL,
) -> tuple[AlertSettings | None, list[Problem]]:
    """Settings from what an admin typed, or every problem so a form shows them all."""
    problems: list[Problem] = []

    def attempt(fn, *args):
        try:
            return fn(*args)
        except InvalidInput as exc:
            problems.append(Problem(exc.field, exc.message))
            return None

    recipients = (
        tuple(a.strip() for a in re.split(r"[,;\s]+", email_to or "") if a.strip())
        if isinstance(email_to, str)
        else tuple(email_to)
    )
    for address in recipients:
        if not EMAIL.match(address):
            problems.append(Problem("email_to", f"{address!r} is not an e-mail address."))
    email_from = (email_from or "").strip()
    if email_from and not EMAIL.match(email_from):
        problems.append(Problem("email_from", f"{email_from!r} is not an e-mail address."))
    smtp_host = (smtp_host or "").strip()
    if recipients and not smtp_host:
        problems.append(Problem("smtp_host", "is required to send e-mail (for Microsoft 365: smtp.office365.com)."))
    if recipients and not email_from:
        problems.append(Problem("email_from", "is required to send e-mail."))
    link = (dashboard_url or "").strip()
    if urllib.parse.urlparse(link).scheme not in ("http", "https"):
        problems.append(Problem("dashboard_url", "must start with http:// or https://."))
    thresholds = Thresholds(
        runway_days=attempt(_whole, runway_days, "runway_days", 1, 365),
        low_balance=attempt(_optional_amount, low_balance, currency, "low_balance"),
        max_recharges_per_day=attempt(_whole, max_recharges_per_day, "max_recharges_per_day", 1, 100),
        monthly_recharge_budget=attempt(_optional_amount, monthly_recharge_budget, currency, "monthly_recharge_budget"),
        stale_import_days=attempt(_whole, stale_import_days, "stale_import_days", 1, 365),
    )
    port = attempt(_whole, smtp_port, "smtp_port", 1, 65535)
    if problems:
        return None, problems
    return AlertSettings(
        thresholds, recipients, email_from, smtp_host, port, (smtp_username or "").strip(), bool(teams_enabled), link
    ), []


SETTING_COLUMNS = (  # alert_setting's columns, in the order AlertSettings takes them
    "runway_days",
    "low_balance",
    "max_recharges_per_day",
    "monthly_recharge_budget",
    "stale_import_days",
    "email_to",
    "email_from",
    "smtp_host",
    "smtp_port",
    "smtp_username",
    "teams_enabled",
    "dashboard_url",
)


def load_settings(ledger: Ledger) -> AlertSettings:
    """The settings in force (defaults until an admin saves some)."""
    store = store_of(ledger)
    with store.reading() as con:
        row = latest_setting(con, "alert_setting", SETTING_COLUMNS)
    if not row:
        return AlertSettings()
    (runway, low, max_recharges, budget, stale, to, sender, host, port, user, teams, link) = row
    return AlertSettings(
        Thresholds(runway, low, max_recharges, budget, stale), tuple(to), sender, host, port, user, teams, link
    )


def save_settings(ledger: Ledger, settings: AlertSettings) -> None:
    """Record new settings (a new version; earlier ones stay in the history)."""
    store = store_of(ledger)
    t = settings.thresholds
    values = (
        t.runway_days,
        t.low_balance,
        t.max_recharges_per_day,
        t.monthly_recharge_budget,
        t.stale_import_days,
        list(settings.email_to),
        settings.email_from,
        settings.smtp_host,
        settings.smtp_port,
        settings.smtp_username,
        settings.teams_enabled,
        settings.dashboard_url,
    )
    with store.transaction() as con:
        append_setting(con, "alert_setting", dict(zip(SETTING_COLUMNS, values)))


# ---- secrets ---------------------------------------------------------------------------------------------


def get_secret(name: str) -> str | None:
    """A secret from its environment variable, else the OS keyring; None when neither has it."""
    value = os.environ.get(SECRETS[name], "").strip()
    if value:
        return value
    import keyring  # imported on use: slow to import, and only the Alerts page and `commcredits check` need it
    import keyring.errors

    try:
        return keyring.get_password(KEYRING_SERVICE, name)
    except keyring.errors.KeyringError:
        return None  # no keyring on this machine (a server): only the environment can hold secrets


def keyring_available() -> bool:
    """Whether this machine has an OS keyring to keep secrets in (a server often has none: keyring's
    "fail" backend, or a chain of no backend)."""
    import keyring
    import keyring.backends.fail

    backend = keyring.get_keyring()
    chain = getattr(backend, "backends", None)
    if chain is not None:
        return any(not isinstance(b, keyring.backends.fail.Keyring) for b in chain)
    return not isinstance(backend, keyring.backends.fail.Keyring)


def secret_home(name: str) -> str:
    """Where the secret `name` is read from, in words for the form next to its field."""
    variable = SECRETS[name]
    if os.environ.get(variable, "").strip():
        return f"Read from the environment variable `{variable}` (it overrides anything typed here)."
    if keyring_available():
        return (
            "Typing here keeps it in this computer's OS keyring, never in the ledger; "
            f"or set the environment variable `{variable}`."
        )
    return (
        f"This computer has no OS keyring: set the environment variable `{variable}` for the dashboard and for "
        "`commcredits check`. Typed here, it is used for the test message only and is not kept."
    )


def set_secret(name: str, value: str) -> None:
    """Keep a secret in the OS keyring (an empty value deletes it). Raises SecretStoreUnavailable when the
    machine has no keyring, naming the environment variable to use instead."""
    import keyring
    import keyring.errors

    try:
        if value:
            keyring.set_password(KEYRING_SERVICE, name, value)
        elif keyring.get_password(KEYRING_SERVICE, name) is not None:
            keyring.delete_password(KEYRING_SERVICE, name)
    except keyring.errors.KeyringError as exc:
        raise SecretStoreUnavailable(
            f"This machine has no OS keyring to keep the secret in; set the environment variable {SECRETS[name]} "
            "for the dashboard and for `commcredits check` instead."
        ) from exc


def validate_webhook_url(url: str) -> str:
    """A Teams Workflows webhook URL must be https (a local http URL is accepted for testing)."""
    parsed = urllib.parse.urlparse(url.strip())
    local = parsed.hostname in ("127.0.0.1", "localhost", "::1")
    if parsed.scheme != "https" and not (parsed.scheme == "http" and local):
        raise InvalidInput("teams_webhook_url", "must be the https:// URL the Teams Workflows webhook shows.")
    return url.strip()


def mask_url(url: str | None) -> str:
    """Show where a webhook points without its credential: scheme, host and the start of the path."""
    if not url:
        return ""
    parsed = urllib.parse.urlparse(url)
    path = parsed.path[:12] + "…" if len(parsed.path) > 12 else parsed.path
    return f"{parsed.scheme}://{parsed.netloc}{path} (rest hidden)"
