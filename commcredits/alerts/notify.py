"""Run the checks, decide what is due on each channel, send it and record it in `alert_delivery`.

What is due (per channel, so a Teams failure does not resend e-mail): an alert whose check was not sent
today, or is worse than what was sent today (higher severity or level); an "all clear" for a check whose
last message was an alert and whose problem is gone. Failed deliveries are recorded as failed and do not
count as sent, so the next run tries again. Info alerts are shown on the dashboard and printed, never sent.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from filelock import FileLock, Timeout

from ..credits.billing import current_billing
from ..credits.ledger import Ledger, require_aware
from ..errors import CheckAlreadyRunning
from ..store import Store, store_of
from . import delivery
from .checks import run_checks
from .delivery import Item, Outcome
from .facts import read_facts
from .model import Alert, Severity
from .settings import AlertSettings, get_secret, load_settings

SEVERITY_NAMES = {s: s.name.lower() for s in Severity}


@dataclass(frozen=True)
class Sent:
    """The last message a channel delivered for a check."""

    check: str
    kind: str
    severity: Severity
    level: int
    day: date
    sentence: str


@dataclass(frozen=True)
class ChannelResult:
    channel: str
    recipient: str
    items: tuple[Item, ...]
    outcome: Outcome | None  # None: dry run, nothing sent


@dataclass(frozen=True)
class CheckReport:
    """What `commcredits check` found and did."""

    alerts: tuple[Alert, ...]
    channels: tuple[ChannelResult, ...]
    dry_run: bool
    configured: tuple[str, ...] = field(default_factory=tuple)

    @property
    def critical(self) -> bool:
        return any(a.severity is Severity.CRITICAL for a in self.alerts)

    @property
    def delivery_failed(self) -> bool:
        return any(c.outcome is not None and not c.outcome.ok for c in self.channels)

    @property
    def exit_code(self) -> int:
        """2: something is critical; 1: a message could not be delivered; 0: otherwise."""
        return 2 if self.critical else 1 if self.delivery_failed else 0

    def channels_for(self, alert: Alert) -> list[str]:
        """The channels the alert went to (or would go to), "teams (failed)" when delivery failed."""
        return [
            c.channel + (" (failed)" if c.outcome is not None and not c.outcome.ok else "")
            for c in self.channels
            if any(i.alert is alert for i in c.items)
        ]


def plan(alerts: Sequence[Alert], last_sent: dict[str, Sent], today: date) -> list[Item]:
    """The items one channel should get now, given the last message it delivered per check (pure)."""
    items = []
    active = {a.check: a for a in alerts if a.severity >= Severity.WARNING}
    for check, alert in active.items():
        last = last_sent.get(check)
        if last is None or last.kind != "alert" or last.day != today or alert.rank > (int(last.severity), last.level):
            items.append(Item(alert))
    for check, last in last_sent.items():
        if last.kind == "alert" and check not in active:
            note = f"resolved since {last.day:%d %b}: {last.sentence}"
            items.append(
                Item(
                    Alert(check, Severity.INFO, note, 0, "resolved", "Nothing to do.", "00_overview.ipynb"), "all_clear"
                )
            )
    return items


def last_sent(ledger: Ledger, channel: str) -> dict[str, Sent]:
    store = store_of(ledger)
    rows = store.query(
        "SELECT check_name, kind, severity, level, day, sentence FROM alert_delivery "
        "WHERE channel = $1 AND status = 'sent' AND kind IN ('alert', 'all_clear') "
        "QUALIFY row_number() OVER (PARTITION BY check_name ORDER BY delivery_id DESC) = 1",
        [channel],
    )
    return {c: Sent(c, k, Severity[s.upper()], lvl, d, text) for c, k, s, lvl, d, text in rows}


def tenant_name(ledger: Ledger) -> str:
    """The company in the billing details ("" when none were saved): messages name the tenant they are about."""
    billing = current_billing(ledger)
    return billing.company if billing and billing.company else ""


def _channels(settings: AlertSettings, secrets: Callable[[str], str | None]) -> list[tuple[str, str, Callable]]:
    """(channel, recipient shown in the history, send(items) -> Outcome) for every configured channel."""
    from .settings import mask_url

    channels = []
    tenant_urls = settings.page_url
    if settings.email_enabled:

        def send_email(items, tenant, tls_context=None):
            message = delivery.email_message(
                items, tenant=tenant, sender=settings.email_from, recipients=settings.email_to, urls=tenant_urls
            )
            return delivery.send_email(
                message,
                host=settings.smtp_host,
                port=settings.smtp_port,
                username=settings.smtp_username,
                password=secrets("smtp_password"),
                tls_context=tls_context,
            )

        channels.append(("email", ", ".join(settings.email_to), send_email))
    if settings.teams_enabled:
        url = secrets("teams_webhook_url")

        def send_teams(items, tenant, tls_context=None):
            if not url:
                return Outcome(
                    False, 0, "no webhook URL: set COMMCREDITS_TEAMS_WEBHOOK_URL or save it on the Alerts page"
                )
            return delivery.post_webhook(url, delivery.teams_payload(items, tenant=tenant, urls=tenant_urls))

        channels.append(("teams", mask_url(url) or "(no webhook URL)", send_teams))
    return channels


def _record(con, run_id: int | None, now: datetime, result: ChannelResult) -> None:
    """One message sent (or not) on one channel: a row per item it carried, all with the same message id."""
    message_id, outcome = str(uuid.uuid4()), result.outcome
    for item in result.items:
        a = item.alert
        con.execute(
            "INSERT INTO alert_delivery SELECT coalesce(max(delivery_id), 0) + 1, $1, $2, $3, $4, $5, $6, $7, $8, $9, "
            "$10, $11, $12, $13, $14, $15 FROM alert_delivery",
            [
                message_id,
                run_id,
                now,
                now.date(),
                result.channel,
                result.recipient,
                a.check,
                item.kind,
                SEVERITY_NAMES[a.severity],
                a.level,
                a.sentence,
                a.number_text,
                "sent" if outcome.ok else "failed",
                outcome.attempts,
                outcome.error,
            ],
        ).fetchall()


@contextlib.contextmanager
def _one_run_at_a_time(store: Store, timeout: float):
    """Two overlapping runs (a slow cron run and the next one) must not both send the same alert: the part
    that reads the history, sends and records holds a lock file beside the ledger."""
    if store.is_memory:
        yield
        return
    try:
        with FileLock(f"{store.path}.alerts.lock", timeout=timeout):
            yield
    except Timeout:
        raise CheckAlreadyRunning(
            f"another `commcredits check` has been sending for {store.path} for "
            f"{timeout:.0f} s; nothing was sent by this run."
        ) from None


def run_check(
    ledger: Ledger,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    secrets: Callable[[str], str | None] = get_secret,
    tls_context=None,
    wait_for_other_run: float = 300.0,
) -> CheckReport:
    """Run every check; unless `dry_run`, send what is due and record the run and every delivery.

    Raises CheckAlreadyRunning when another run holds the ledger's alert lock longer than
    `wait_for_other_run` seconds."""
    if dry_run:
        return _run_check(ledger, now=now, dry_run=True, secrets=secrets, tls_context=tls_context)
    with _one_run_at_a_time(ledger.store, wait_for_other_run):
        return _run_check(ledger, now=now, dry_run=False, secrets=secrets, tls_context=tls_context)


def _run_check(ledger: Ledger, *, now, dry_run: bool, secrets, tls_context) -> CheckReport:
    now = require_aware(now or datetime.now(UTC), "now")
    store = ledger.store
    settings = load_settings(ledger)
    facts = read_facts(ledger, now=now)
    alerts = tuple(run_checks(facts, settings.thresholds))
    tenant = tenant_name(ledger)
    results, channels = [], _channels(settings, secrets)
    for channel, recipient, send in channels:
        items = tuple(plan(alerts, last_sent(ledger, channel), now.date()))
        if not items:
            continue
        outcome = None if dry_run else send(items, tenant, tls_context)
        results.append(ChannelResult(channel, recipient, items, outcome))
    report = CheckReport(alerts, tuple(results), dry_run, tuple(c for c, _, _ in channels))
    if dry_run:
        return report
    with store.transaction() as con:
        (run_id,) = con.execute(
            "INSERT INTO alert_run SELECT coalesce(max(run_id), 0) + 1, $1, $2, $3, $4 FROM alert_run RETURNING run_id",
            [
                now,
                facts.not_ready,
                sum(a.severity is Severity.CRITICAL for a in alerts),
                sum(a.severity is Severity.WARNING for a in alerts),
            ],
        ).fetchall()[0]
        for result in results:
            _record(con, run_id, now, result)
    return report


def send_test(
    ledger: Ledger,
    *,
    secrets: Callable[[str], str | None] = get_secret,
    tls_context=None,
    now: datetime | None = None,
    settings: AlertSettings | None = None,
) -> list[ChannelResult]:
    """Send a test message on every configured channel and record it (kind 'test'). `settings`: the ones to
    test (what the form shows) instead of the saved ones."""
    now = require_aware(now or datetime.now(UTC), "now")
    store = ledger.store
    settings = settings or load_settings(ledger)
    tenant = tenant_name(ledger)
    test = Alert(
        "test",
        Severity.INFO,
        f"Test message from the Communication Credits workbook{' for ' + tenant if tenant else ''}: "
        "alerts will arrive here.",
        0,
        "test",
        "Nothing to do.",
        "05_alerts.ipynb",
    )
    results = []
    for channel, recipient, send in _channels(settings, secrets):
        items = (Item(test, "test"),)
        results.append(ChannelResult(channel, recipient, items, send(items, tenant, tls_context)))
    with store.transaction() as con:
        for result in results:
            _record(con, None, now, result)
    return results


def current_alerts(ledger: Ledger, *, now: datetime | None = None, run=None, expiring=None) -> list[Alert]:
    """The alerts as of now with the saved thresholds (for the dashboard; sends nothing). `run`, `expiring`: the
    runway and expiring funds as of `now` if the page worked them out already."""
    return run_checks(read_facts(ledger, now=now, run=run, expiring=expiring), load_settings(ledger).thresholds)
