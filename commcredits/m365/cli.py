"""`commcredits sync` and `commcredits check-permissions`, for cron and Task Scheduler.

Exit codes (a scheduler can alert on anything but 0, and retry later on 5 and 6):
0 done; 2 bad command line; 3 not configured or bad configuration; 4 a permission is missing or sign-in failed;
5 Microsoft Graph failed or stayed throttled (try again later); 6 the ledger file is busy (try again later);
7 Graph sent data the workbook refused (nothing of it imported; see the message).
One line goes to stdout on success, one line to stderr on failure; no secret is ever printed.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

EXIT_OK, EXIT_CONFIG, EXIT_PERMISSION, EXIT_GRAPH, EXIT_BUSY, EXIT_DATA = 0, 3, 4, 5, 6, 7


def add_commands(subparsers) -> None:
    sync = subparsers.add_parser(
        "sync",
        help="bring users, licenses, seats and call logs from Microsoft 365",
        description="Sync from Microsoft 365 through Microsoft Graph (app-only sign-in).",
    )
    sync.add_argument("--ledger", help="the ledger file (default: config file, then COMMCREDITS_DB)")
    sync.add_argument(
        "--config", help="a TOML config file (default: COMMCREDITS_CONFIG or ~/.config/commcredits/config.toml)"
    )
    sync.add_argument(
        "--since",
        type=_date,
        help="read call logs from this date or time (UTC) instead of where the last sync stopped, e.g. 2026-01-01",
    )
    sync.set_defaults(handler=run_sync)
    check = subparsers.add_parser(
        "check-permissions",
        help="say which Microsoft Graph permission is missing",
        description="Call each Graph endpoint the workbook uses and report in words.",
    )
    check.add_argument("--config", help="a TOML config file")
    check.set_defaults(handler=run_check)


def _date(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date such as 2026-01-01") from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _fail(command: str, code: int, message: str) -> int:
    print(f"commcredits {command}: {message}", file=sys.stderr)
    return code


def _exit_code(error: Exception) -> int:
    from ..errors import InvalidInput, LedgerBusy, M365Error, NotConnected, PermissionMissing, TenantImportError

    if isinstance(error, NotConnected):
        return EXIT_CONFIG
    if isinstance(error, PermissionMissing) or (isinstance(error, M365Error) and error.status == 401):
        return EXIT_PERMISSION
    if isinstance(error, M365Error):
        return EXIT_GRAPH
    if isinstance(error, LedgerBusy):
        return EXIT_BUSY
    if isinstance(error, TenantImportError):
        return EXIT_DATA
    if isinstance(error, InvalidInput):
        return EXIT_CONFIG
    if type(error).__name__ in {"ClientAuthenticationError", "CredentialUnavailableError"}:
        return EXIT_PERMISSION
    raise error


def run_sync(args) -> int:
    from ..credits.ledger import open_ledger
    from .settings import connect_from_settings, load_settings
    from .sync import sync_m365

    try:
        settings = load_settings(args.config)
        path = args.ledger or settings.ledger_path
        connection = connect_from_settings(settings)
        try:
            report = sync_m365(open_ledger(path), connection, since=args.since)
        finally:
            connection.close()
    except Exception as error:  # noqa: BLE001 - every known failure has an exit code; others propagate
        return _fail("sync", _exit_code(error), str(error).splitlines()[0])
    print(report.summary())
    return EXIT_OK


def run_check(args) -> int:
    from .permissions import check_permissions
    from .settings import connect_from_settings, load_settings

    try:
        connection = connect_from_settings(load_settings(args.config))
        try:
            report = check_permissions(connection)
        finally:
            connection.close()
    except Exception as error:  # noqa: BLE001
        return _fail("check-permissions", _exit_code(error), str(error).splitlines()[0])
    if report.ok:
        print(report.summary())
        return EXIT_OK
    print(report.summary(), file=sys.stderr)
    for line in report.lines():
        print("  " + line, file=sys.stderr)
    return EXIT_PERMISSION
