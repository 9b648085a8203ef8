"""The Usage page's spend tables by the Teams PSTN usage report's own dimensions: department, auto attendant or
call queue (resource account), and the tenant's phone numbers (issue 21: admins budget by department and ask
what each auto attendant, call queue and number costs)."""

from __future__ import annotations

import contextlib

import pandas as pd

from ..credits.ledger import Ledger
from ..credits.rollups import fresh_mark
from ..usage import insights
from . import format as fmt

TOP = 10


@contextlib.contextmanager
def read_session(ledger: Ledger):
    """The rollups brought up to date (a write), then one read-only session for a render's reads; it ends
    before the page waits for the admin again, so no connection is held between actions."""
    fresh_mark(ledger.store)
    with ledger.store.read_session():
        yield


def report_dimensions_html(ledger: Ledger, *, locale: str | None = None, top: int = TOP) -> str:
    """Three table cells for the spend grid: by department, by auto attendant / call queue, top numbers."""
    departments = insights.spend_by(ledger, "department").head(top)
    accounts = insights.spend_by(ledger, "resource_account").head(top)
    numbers = insights.spend_by(ledger, "number").head(top)
    accounts = accounts.assign(
        who=[
            _account_name(name, upn) for name, upn in zip(accounts["resource_account"], accounts["user_principal_name"])
        ]
    )
    numbers = numbers.assign(who=[n if isinstance(n, str) and n else "—" for n in numbers["held_by"]])

    def table(frame, labels, css):
        frame = frame.assign(minutes=frame["minutes"].astype(float).round().astype("int64"))
        return fmt.html_table(
            frame,
            labels={**labels, "calls": "Calls", "minutes": "Minutes", "amount": "Spent"},
            money_columns=("amount",),
            currency=ledger.currency,
            css_class=f"cc-table {css}",
            locale=locale,
        )

    return (
        f'<div><h3 class="cc-section">By department</h3>'
        f"{table(departments, {'department': 'Department', 'users': 'Users'}, 'cc-spend-departments')}</div>"
        f'<div><h3 class="cc-section">Auto attendants and call queues</h3>'
        f"{table(accounts, {'who': 'Resource account', 'phone_number': 'Number'}, 'cc-spend-resource-accounts')}</div>"
        f'<div><h3 class="cc-section">Top phone numbers</h3>'
        f"{table(numbers, {'phone_number': 'Number', 'who': 'Held by'}, 'cc-spend-numbers')}</div>"
    )


def _account_name(name, upn) -> str:
    if isinstance(name, str) and name:
        return name
    return "Not in the tenant import" if upn is None or pd.isna(upn) else str(upn)
