"""The links at the top of every dashboard page, in the order of Microsoft's setup guide, and what the page
must say before anything else: that the demo tenant is sample data, or that an empty ledger needs its setup."""

from __future__ import annotations

import html

import ipywidgets as widgets

from ..config import database_path
from ..credits.ledger import Ledger, open_ledger
from ..pages import PAGES
from ..tenant_setup import current_setup, needs_setup
from . import format as fmt

OWN_LEDGER_COMMAND = "COMMCREDITS_DB=/path/ours.duckdb bash scripts/dashboard.sh"
# what each page needs first on an empty ledger
FIRST_STEP = {
    "01_licenses.ipynb": "then bring in your users and licenses from files here",
    "03_credit_licenses.ipynb": "then bring in your users and licenses from files here or in Step 1",
    "04_usage.ipynb": "then import call logs here",
}


def navigation(current: str, pages=PAGES, ledger: Ledger | None = None) -> widgets.HTML:
    """Links to the dashboard pages, `current` (a notebook file name) highlighted, then the ledger's notice
    (`ledger` defaults to the one the dashboard serves)."""
    links = "".join(
        f'<span aria-current="page">{html.escape(label)}</span>'
        if name == current
        else f'<a href="{html.escape(name)}">{html.escape(label)}</a>'
        for name, label in pages
    )
    notice = ledger_notice(ledger or open_ledger(database_path()), current)
    return widgets.HTML(f'<nav class="cc-nav">{links}</nav>{notice}')


def ledger_notice(ledger: Ledger, current: str) -> str:
    """The demo banner, or on an empty ledger what to do first; also makes the setup's time zone the pages'."""
    setup = current_setup(ledger)
    if setup is not None:
        fmt.use_tenant_timezone(setup.time_zone)
        if setup.sample_data:
            return (
                '<div class="cc-demo-banner" role="note"><b>Demo tenant: sample data.</b> '
                f"{html.escape(setup.organisation)}'s users, purchases and calls are invented to show the "
                'workbook. <span class="cc-wide-only">Start on your own ledger with '
                f"<code>{html.escape(OWN_LEDGER_COMMAND)}</code>.</span></div>"
            )
        return ""
    if current == "00_overview.ipynb" or not needs_setup(ledger):
        return ""
    then = FIRST_STEP.get(current, "then come back here")
    return (
        '<div class="cc-setup-first" role="note"><b>This ledger is empty.</b> First answer four questions on the '
        f'<a href="00_overview.ipynb">Overview</a> (organisation, currency, how you buy Microsoft 365, time '
        f"zone), {html.escape(then)}.</div>"
    )
