"""`commcredits ...`: the command line for schedulers (cron, Task Scheduler, monitoring).

Each job adds its subcommands through one `add_commands(subparsers)` function; exit codes are documented there.
"""

from __future__ import annotations

import argparse
import sys

# each module has add_commands(subparsers); a command sets `handler(args) -> int`
COMMAND_MODULES: list[str] = [
    "commcredits.alerts.cli",
    "commcredits.m365.cli",
]


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(prog="commcredits", description="Teams Communication Credits workbook")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_commands(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
