"""The Overview page: balance, auto-recharge, open lots with expiry dates, recent entries."""

from __future__ import annotations

import html
from datetime import UTC, datetime

import ipywidgets as widgets

from ..alerts.notify import current_alerts
from ..credits.ledger import Agreement, Ledger
from ..licensing.readiness import readiness_summary
from ..tenant_setup import needs_setup
from ..usage import insights
from ..usage.purchases import open_purchases
from . import charts
from . import format as fmt
from .alerts_views import alerts_strip_html
from .attention import attention_html
from .reconcile import ReconcileForm
from .setup import SetupForm
from .spend_tables import read_session

AGREEMENT_NAMES = {
    Agreement.MOSA: "Microsoft Online Subscription Agreement",
    Agreement.EA: "Enterprise Agreement",
    Agreement.CSP: "Cloud Solution Provider",
    Agreement.MCA: "Microsoft Customer Agreement",
}
ENTRY_KINDS = {"purchase": "Purchase", "recharge": "Auto-recharge", "spend": "Call charges", "expiry": "Expired"}

# the Overview shows the newest few; the Usage page pages through all of them
ALL_CALLS_HINT = '; all of them, a page at a time or as a CSV, on the <a href="04_usage.ipynb">Usage page</a>'


def overview_html(
    ledger: Ledger, *, now: datetime | None = None, locale: str | None = None, lots=None
) -> tuple[str, str]:
    """The overview as two HTML fragments: the summary (cards, readiness) shown above the charts, and the
    details (expiring funds, open lots, recent entries) shown below them. `lots`: ledger.lots() if read already."""
    now = now or datetime.now(UTC)
    lots = ledger.lots() if lots is None else lots
    open_lots = open_purchases(ledger, lots)
    ready = readiness_summary(ledger)
    # the cards, the tables and the alerts all speak of `now`: each figure worked out once
    run = insights.runway(ledger, as_of=now)
    expiring = insights.expiring_funds(ledger, as_of=now, lots=lots)
    cards = _summary_cards(ledger, now, locale, run=run, funded=len(lots) > 0, open_lots=open_lots, ready=ready)
    alerts = current_alerts(ledger, now=now, run=run, expiring=expiring)
    strip = alerts_strip_html(alerts)
    readiness = _readiness_line(ready, dial_out_said=any(alert.check == "readiness" for alert in alerts))
    # the balance first (on a phone the alerts above it pushed it about 1,000 px down), the alerts right after
    summary = (
        f'{fmt.STYLE}<div class="cc-page"><div class="cc-cards">{cards}</div>{strip}{readiness}'
        f"{attention_html(ledger, locale=locale, limit=5, more_hint=ALL_CALLS_HINT)}</div>"
    )
    details = (
        f'<div class="cc-page"><h3 class="cc-section">Funds expiring soon</h3>{_expiring_table(expiring, ledger.currency, locale)}'
        f'<h3 class="cc-section">Funds not yet spent, by purchase (the oldest expires first and is spent first)</h3>'
        f"{_lots_table(open_lots, ledger.currency, locale)}"
        f'<h3 class="cc-section">Recent ledger entries</h3>{_entries_table(ledger, locale)}</div>'
    )
    return summary, details


def _summary_cards(ledger: Ledger, now: datetime, locale: str | None, *, run, funded, open_lots, ready) -> str:
    """Balance, auto-recharge, runway, next expiry, who can dial out, agreement."""
    currency, agreement, auto = ledger.currency, ledger.agreement, ledger.auto_recharge
    balance = run.balance  # as of `now`
    auto_text, auto_note = _auto_recharge_text(ledger, locale)
    if len(open_lots):
        first = open_lots.iloc[0]
        expiry_value = fmt.money(first["remaining"], currency, locale)
        expiry_note = f"expires {fmt.day(first['expires_at'], locale)} (invoice {first['invoice_id']})"
    else:
        expiry_value, expiry_note = "—", "no open lots"
    low = balance <= 0 or (auto.enabled is False and agreement is not Agreement.MCA and balance < 50)
    runway_value, runway_note = _runway_text(run, currency, locale, funded=funded)
    return "".join(
        [
            fmt.card(
                "Balance",
                fmt.money(balance, currency, locale),
                f"as of {fmt.instant(now, locale)}",
                "cc-balance cc-warning" if low else "cc-balance",
                f'data-amount="{balance}" data-currency="{currency}"',
            ),
            fmt.card("Auto-recharge", auto_text, auto_note, "cc-auto"),
            fmt.card("Runway", runway_value, runway_note, "cc-runway"),
            fmt.card("Next expiry", expiry_value, expiry_note, "cc-next-expiry"),
            fmt.card(
                "Can dial out",
                f"{ready.ready} of {ready.users}",
                "users who can call now (readiness)",
                "cc-ready cc-warning" if ready.not_ready else "cc-ready",
            ),
            fmt.card("Agreement", agreement.value, AGREEMENT_NAMES[agreement], "cc-agreement"),
        ]
    )


def _auto_recharge_text(ledger: Ledger, locale: str | None) -> tuple[str, str]:
    auto, currency = ledger.auto_recharge, ledger.currency
    if ledger.agreement is Agreement.MCA:
        return "Off", "Microsoft Customer Agreement: the remaining credits pay first, then usage is billed in arrears."
    if auto.enabled:
        return (
            "On",
            f"Add {fmt.money(auto.amount, currency, locale)} when the balance is below "
            f"{fmt.money(auto.below, currency, locale)}",
        )
    return "Off", "Calls stop when the balance reaches zero."


def _readiness_line(ready, *, dial_out_said: bool = False) -> str:
    """Who can call, under the alerts. When the alerts above already say who cannot dial out, only who cannot call
    beyond the included minutes is left to say (the page said the same sentence twice)."""
    if not ready.not_ready:
        return f'<div class="cc-readiness">{html.escape(ready.sentence)}</div>'
    sentence = ready.beyond_sentence if dial_out_said else ready.sentence
    if not sentence:
        return ""
    return (
        f'<div class="cc-readiness cc-warning">'
        f'{html.escape(sentence)} Fix it in <a href="01_licenses.ipynb">Step 1 · Licenses</a> '
        'and <a href="03_credit_licenses.ipynb">Step 3 · Credit licenses</a>.</div>'
    )


def _expiring_table(expiring, currency: str, locale: str | None) -> str:
    return fmt.html_table(
        expiring.assign(horizon_days=expiring["horizon_days"].map(lambda d: f"next {d} days")),
        labels={
            "horizon_days": "Expiring in the",
            "lots": "Purchases",
            "expiring": "Amount expiring",
            "likely_forfeited": "Likely lost at current spending",
        },
        money_columns=("expiring", "likely_forfeited"),
        currency=currency,
        css_class="cc-table cc-expiring",
        locale=locale,
    )


def _lots_table(open_lots, currency: str, locale: str | None) -> str:
    return fmt.html_table(
        open_lots,
        # what is left and when it expires first: on a phone the long order names come after the money
        labels={
            "expires_at": "Expires",
            "remaining": "Remaining",
            "amount": "Amount",
            "invoice_id": "Invoice",
            "order_name": "Order",
            "purchased_at": "Bought",
        },
        money_columns=("amount", "remaining"),
        day_columns=("purchased_at", "expires_at"),
        currency=currency,
        css_class="cc-table cc-lots",
        locale=locale,
    )


def _entries_table(ledger: Ledger, locale: str | None) -> str:
    recent = insights.recent_entries(ledger, 15)
    recent["kind"] = recent["kind"].map(ENTRY_KINDS).fillna(recent["kind"])
    return fmt.html_table(
        recent,
        labels={
            "occurred_at": "When",
            "kind": "What",
            "detail": "Who / what for",
            "amount": "Change",
            "balance_after": "Balance after",
        },
        money_columns=("amount", "balance_after"),
        instant_columns=("occurred_at",),
        currency=ledger.currency,
        css_class="cc-table cc-entries",
        locale=locale,
    )


def _runway_text(runway, currency: str, locale: str | None, *, funded: bool) -> tuple[str, str]:
    """The runway card, from the runway as of the balance card's instant (the alerts judge the same one)."""
    if not funded:
        return "—", "no funds yet: record a purchase in Step 2"
    if runway.daily_burn <= 0:
        return "—", "no credit-paid calls in the last 30 days"
    burn = f"at {fmt.money(runway.daily_burn, currency, locale)} a day"
    if runway.trigger is not None and runway.trigger_date is not None:
        return (
            f"{runway.days_to_trigger:.0f} days",
            f"until auto-recharge ({fmt.day(runway.trigger_date, locale)}), {burn}",
        )
    if runway.zero_date is not None:
        return f"{runway.days_to_zero:.0f} days", f"until calls stop ({fmt.day(runway.zero_date, locale)}), {burn}"
    return "—", burn


def overview_charts(ledger: Ledger, *, locale: str | None = None, lots=None) -> list:
    """Balance over time and the expiry timeline (plotly figures). `lots`: ledger.lots() if read already."""
    auto = ledger.auto_recharge
    return [
        charts.balance_chart(
            insights.balance_over_time(ledger),
            ledger.currency,
            trigger=auto.below if auto.enabled else None,
            locale=locale,
        ),
        charts.expiry_chart(ledger.lots() if lots is None else lots, ledger.currency, locale=locale),
    ]


def overview_parts(ledger: Ledger, *, locale: str | None = None) -> tuple[str, str, list]:
    """What one render of the page shows: (summary, details, charts), read in one read session (one open of
    the ledger file instead of one per query) that ends before the page waits for the admin again. The
    rollups are brought up to date first: that is a write, which a read session cannot do."""
    with read_session(ledger):
        lots = ledger.lots()  # both halves show the lots (27,000 of them on a tenant that recharges daily)
        summary, details = overview_html(ledger, locale=locale, lots=lots)
        return summary, details, overview_charts(ledger, locale=locale, lots=lots)


def build_overview(ledger: Ledger, *, locale: str | None = None) -> widgets.VBox:
    """The Overview page as a widget with a Refresh button; an empty ledger opens on its setup first."""
    if needs_setup(ledger):
        return SetupForm(ledger, lambda ready: build_overview(ready, locale=locale), locale=locale).widget
    summary, details = widgets.HTML(), widgets.HTML()
    plots = widgets.Output()
    plots.add_class("cc-charts")
    later = charts.ChartsAfterFirstPaint(plots)
    refresh = widgets.Button(description="Refresh", icon="refresh", tooltip="Read the ledger again")
    refresh.add_class("cc-refresh-on-focus")  # the page template clicks it when the tab is shown again

    def _refresh(_=None):
        summary.value, details.value, figures = overview_parts(ledger, locale=locale)
        later.show(figures)

    refresh.on_click(_refresh)
    _refresh()
    return widgets.VBox([refresh, summary, ReconcileForm(ledger, locale=locale).widget, plots, later.button, details])
