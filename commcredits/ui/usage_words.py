"""The Usage page's results in words: why an import or a settlement failed, what a settlement did."""

from __future__ import annotations

import re
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
    if isinstance(error, duckdb.Error):  # DuckDB's own words name temporary files and internals: not for admins
        return "it could not be read as a call log: it may be damaged, or not an export this page reads."
    if isinstance(error, OSError):
        return f"it could not be read ({error.strerror or error})."
    return f"{type(error).__name__}: {error}"


# DuckDB's message appended to a reason ("...: Invalid Input Error: Malformed JSON in file "/tmp/..."...")
DATABASE_MESSAGE = re.compile(r":?\s*\b(?:[A-Z][a-z]+ )+Error: .*$", re.S)
QUOTED_PATH = re.compile(r'"?(?:/[^\s"/]+)+/([^\s"/]+)"?')


def plain_reason(reason: str) -> str:
    """A quarantine reason as admins should read it: without DuckDB's own message or a temporary folder."""
    text = DATABASE_MESSAGE.sub("", str(reason)).strip()
    text = QUOTED_PATH.sub(lambda m: m.group(1), text)  # a full path on the server: just the file's name
    return text


def settlement_lines(report: SettlementReport, currency: str, locale: str | None = None) -> list[tuple[str, str, str]]:
    """(label, value, note) per outcome of this settlement only, in the order people read them."""
    m = lambda amount: fmt.money(amount, currency, locale)  # noqa: E731
    lines = [
        ("Settled", calls(report.settled, locale), f"{m(report.amount)} paid from credits"),
        (
            "Auto-recharges",
            fmt.count(report.recharges, locale),
            f"{m(report.recharged)} added and invoiced" if report.recharges else "none needed",
        ),
    ]
    if report.blocked:
        lines.append(
            (
                "Blocked",
                calls(report.blocked, locale),
                f"{m(report.blocked_amount)} not recorded: {BLOCKED_REASON}. They stay unsettled; buy credits "
                "in the Microsoft 365 admin center and record it in Step 2, then settle again.",
            )
        )
    else:
        lines.append(("Blocked", "0", f"the balance covered every call Microsoft charged in {currency}"))
    if report.late:
        lines.append(
            (
                "Arrived late",
                calls(report.late, locale),
                "their logs came after later entries: each is "
                "settled at its own time by adding adjusting entries; nothing already recorded is changed.",
            )
        )
    if report.expired_lots:
        lines.append(
            ("Expired lots", fmt.count(report.expired_lots, locale), f"{m(report.forfeited)} forfeited at expiry")
        )
    if report.conflicts:
        lines.append(
            ("Conflicts", calls(report.conflicts, locale), "already settled with another amount; left as they were")
        )
    if report.billed_in_arrears or report.arrears_amount:
        note = f"{m(report.arrears_amount)}: Microsoft Customer Agreement, invoiced later once the remaining credits are used up"
        if report.late:
            note += "; includes what the late calls moved to or from arrears for the calls made after them"
        lines.append(("Billed in arrears", calls(report.billed_in_arrears, locale), note))
    return lines


# every imported call is in exactly one of these: the cards add up to the number of calls imported
STATUS_WORDS = (
    ("settled", "Paid from credits", "drawn from credits (or billed in arrears on MCA)"),
    ("free", "No charge", "Microsoft charged 0.00: included minutes or a free call"),
    ("operator", "Other operators", "billed by their carrier, not from credits"),
    ("estimate", "Estimate only", "no charge from Microsoft: estimated from the rate card, never settled"),
    (
        "other_currency",
        "Other currency",
        "charged in another currency: never drawn, see the calls that need your attention",
    ),
    ("blocked", "Blocked", "not covered by the balance: still unsettled"),
    ("pending", "Not settled yet", "charged after the settlement's cut-off: the next settlement pays them"),
)


def status_lines(by_status: dict, locale: str | None = None) -> tuple[int, list[tuple[str, str, str, str]]]:
    """Every imported call by what became of it, all time: (total, [(status, label, value, note)]). A status
    with no call is left out, except "Paid from credits"."""
    lines = []
    for status, label, note in STATUS_WORDS:
        n = int(by_status.get(status, 0))
        if n or status == "settled":
            lines.append((status, label, fmt.count(n, locale), note))
    return sum(int(v) for v in by_status.values()), lines


def calls(n: int, locale: str | None = None) -> str:
    """'1 call', '2,608 calls'."""
    return f"{fmt.count(n, locale)} call{'s' if n != 1 else ''}"
