"""The Usage page's results in words: why an import or a settlement failed, what a settlement did."""

from __future__ import annotations

import zipfile

import duckdb

from ..credits.settlement import SettlementReport
from ..errors import CommCreditsError
from . import format as fmt

BLOCKED_REASON = "the balance could not cover it and auto-recharge was off or too small"


def explain(error: Exception) -> str:
    """A sentence for people about why an import or a settlement failed (never a traceback)."""
    if isinstance(error, CommCreditsError):
        return getattr(error, "message", None) or str(error)
    if isinstance(error, zipfile.BadZipFile):
        return "it is not a readable zip archive (a Teams admin center export is Calls.Export.*.zip)."
    if isinstance(error, UnicodeDecodeError):
        return "it is not UTF-8 text; export the call log again as CSV or JSON."
    if isinstance(error, duckdb.Error):
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        return f"the database could not read it ({first})."
    if isinstance(error, OSError):
        return f"it could not be read ({error.strerror or error})."
    return f"{type(error).__name__}: {error}"


def settlement_lines(report: SettlementReport, unrated: int, currency: str, locale: str | None = None) -> list[tuple[str, str, str]]:
    """(label, value, note) per outcome of a settlement, in the order people read them."""
    m = lambda amount: fmt.money(amount, currency, locale)  # noqa: E731
    lines = [("Settled", f"{report.settled} call{'s' if report.settled != 1 else ''}", f"{m(report.amount)} paid from credits"),
             ("Auto-recharges", str(report.recharges), f"{m(report.recharged)} added and invoiced" if report.recharges
              else "none needed")]
    if report.blocked:
        lines.append(("Blocked", f"{report.blocked} call{'s' if report.blocked != 1 else ''}",
                      f"{m(report.blocked_amount)} not recorded: {BLOCKED_REASON}. They stay unsettled; add funds "
                      "or turn on auto-recharge, then settle again."))
    else:
        lines.append(("Blocked", "0", f"the balance covered every call Microsoft charged in {currency}"))
    for status, label, note in (("other_currency", "Other currency", "charged in another currency: never drawn, "
                                 "see the calls that need your attention"),
                                ("estimate", "Estimate only", "no charge from Microsoft: estimated from the rate "
                                 "card, never settled"),
                                ("operator", "Other operators", "billed by their carrier, not from credits")):
        if report.by_status.get(status):
            lines.append((label, str(report.by_status[status]), note))
    if report.late:
        lines.append(("Arrived late", str(report.late), "calls older than the ledger's last entry: recorded at "
                                                         "that entry's time, since history is never rewritten; "
                                                         "their own call time is kept for reports."))
    if report.expired_lots:
        lines.append(("Expired lots", str(report.expired_lots), f"{m(report.forfeited)} forfeited at expiry"))
    if report.conflicts:
        lines.append(("Conflicts", str(report.conflicts), "already settled with another amount; left as they were"))
    if report.billed_in_arrears:
        lines.append(("Billed in arrears", str(report.billed_in_arrears), f"{m(report.arrears_amount)}: Microsoft "
                      "Customer Agreement, invoiced later once the remaining credits are used up"))
    if unrated:
        lines.append(("Unrated", str(unrated), "no charge from Microsoft and no rate card price: not even an "
                                               "estimate. Load your rate card (load_rate_card) for estimates."))
    return lines
