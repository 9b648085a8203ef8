"""`commcredits check`: run every alert check, send what is due, print one line per alert.

Exit codes (for cron, Task Scheduler and monitoring systems): 0 nothing critical; 1 a message could not be
delivered (it is recorded as failed and retried on the next run); 2 something is critical; 3 the check
could not run (for example the ledger stayed busy).
"""

from __future__ import annotations

import argparse
import sys

from ..errors import CommCreditsError


def add_commands(subparsers) -> None:
    check = subparsers.add_parser(
        "check",
        help="run the alert checks and send what is due",
        description="Run every alert check on the ledger, send the alerts that are due by e-mail and to Teams, "
        "print one line per alert. Exit 2 when something is critical, 1 when a message could not "
        "be delivered, 0 otherwise.",
    )
    check.add_argument("--dry-run", action="store_true", help="check and print, but send and record nothing")
    check.add_argument("--db", metavar="PATH", help="the ledger file (default: COMMCREDITS_DB or the demo tenant)")
    check.set_defaults(handler=run)


def format_line(alert, channels: list[str], configured: bool, dry_run: bool, link: str) -> str:
    """One line per alert: severity, check, sentence, fix with its link, and what happened to it."""
    if alert.severity.name == "INFO":
        status = "shown on the dashboard only"
    elif channels:
        status = ("would send to " if dry_run else "sent to ") + " and ".join(channels)
    elif configured:
        status = "already sent today"
    else:
        status = "no channel configured"
    return f"{alert.severity.name:<8} {alert.check}: {alert.sentence} Fix: {alert.fix} {link} [{status}]"


def run(args: argparse.Namespace) -> int:
    from ..config import database_path
    from ..credits.ledger import open_ledger
    from .model import CHECK_TITLES
    from .notify import run_check
    from .settings import load_settings

    try:
        ledger = open_ledger(args.db or database_path())
        report = run_check(ledger, dry_run=args.dry_run)
        settings = load_settings(ledger)
    except CommCreditsError as exc:
        print(f"commcredits check: {exc}", file=sys.stderr)
        return 3
    for alert in report.alerts:
        print(
            format_line(
                alert,
                report.channels_for(alert),
                bool(report.configured),
                report.dry_run,
                settings.page_url(alert.page),
            )
        )
    for result in report.channels:
        for item in result.items:
            if item.kind == "all_clear":
                verb = "would send" if report.dry_run else "sent"
                print(f"{'OK':<8} {item.alert.check}: all clear {verb} to {result.channel}: {item.alert.sentence}")
    if not report.alerts:
        print(f"{'OK':<8} all {len(CHECK_TITLES) - 1} checks passed.")
    if not report.configured:
        print("note: no e-mail recipients or Teams webhook configured (Alerts page): nothing is sent.")
    for result in report.channels:
        if result.outcome is not None and not result.outcome.ok:
            print(
                f"{'FAILED':<8} {result.channel} to {result.recipient}: {result.outcome.error}. "
                "Recorded in alerts_sent; the next run tries again.",
                file=sys.stderr,
            )
    counts = {s: sum(a.severity.name == s for a in report.alerts) for s in ("CRITICAL", "WARNING", "INFO")}
    print(
        f"summary: {counts['CRITICAL']} critical, {counts['WARNING']} warning, {counts['INFO']} info"
        f"{' (dry run: nothing sent)' if report.dry_run else ''}; exit {report.exit_code}"
    )
    return report.exit_code
