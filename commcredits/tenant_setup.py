"""The first-day setup: who a ledger is for (organisation, currency, how it buys Microsoft services, time zone).

A ledger the admin names starts empty and opens on this setup; only the demo tenant is marked as sample data.
Every setup is a new row (append-only, the latest holds); the agreement is recorded with the ledger's own
`set_agreement`, and the currency may be chosen only while nothing priced is recorded yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .credits.ledger import Agreement, Ledger, _parse_agreement, current_agreement, current_auto_recharge
from .errors import InvalidInput, NotAllowedForAgreement
from .money import validate_currency
from .store import named_sql
from .versioned import append_setting, latest_setting

_SQL = named_sql("setup_queries")
MAX_ORGANISATION_LENGTH = 200

# How the tenant buys Microsoft services, in the words of Microsoft's buying pages.
AGREEMENT_CHOICES = {  # short: each must fit one line of a 390 px screen
    Agreement.MOSA: "Directly from Microsoft (MOSA)",
    Agreement.MCA: "Microsoft Customer Agreement (MCA)",
    Agreement.CSP: "Through a partner (CSP)",
    Agreement.EA: "Enterprise Agreement (EA)",
}


@dataclass(frozen=True)
class TenantSetup:
    """What the setup recorded (the latest row)."""

    organisation: str
    time_zone: str
    sample_data: bool
    changed_at: datetime


def current_setup(ledger: Ledger) -> TenantSetup | None:
    """The latest setup, or None when the ledger was never set up."""
    with ledger.store.reading() as con:
        row = latest_setting(con, "tenant_setup", ("organisation", "time_zone", "sample_data", "changed_at"))
    return TenantSetup(*row) if row else None


def is_sample_data(ledger: Ledger) -> bool:
    """True for the demo tenant (its pages say so)."""
    setup = current_setup(ledger)
    return bool(setup and setup.sample_data)


def needs_setup(ledger: Ledger) -> bool:
    """True for an empty ledger: never set up, and no users, calls or entries yet."""
    if current_setup(ledger) is not None:
        return False
    return ledger.store.query(_SQL["tenant_records"])[0][0] == 0


def can_change_currency(ledger: Ledger) -> bool:
    """The currency may change only while no amount is recorded in it."""
    return ledger.store.query(_SQL["priced_records"])[0][0] == 0


def validate_setup(organisation, currency, agreement, time_zone) -> tuple[str, str, Agreement, str]:
    """The setup's values, cleaned; raises InvalidInput naming the first bad field."""
    name = str(organisation or "").strip()
    if not name:
        raise InvalidInput("organisation", "Enter your organisation's name, as your admins know it.")
    if len(name) > MAX_ORGANISATION_LENGTH:
        raise InvalidInput(
            "organisation", f"The name is {len(name)} characters long; at most {MAX_ORGANISATION_LENGTH}."
        )
    code = validate_currency(currency)
    chosen = _parse_agreement(agreement)
    zone = str(time_zone or "").strip()
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput("time_zone", f"{zone!r} is not a time zone; choose one such as Europe/Berlin.") from None
    return name, code, chosen, zone


def record_setup(
    ledger: Ledger,
    *,
    organisation: str,
    currency: str,
    agreement: Agreement | str,
    time_zone: str,
    sample_data: bool = False,
) -> Ledger:
    """Record the setup in one transaction and return the ledger with its (possibly new) currency.

    Raises InvalidInput naming the field (a blank or too long organisation, an unknown currency or time zone,
    another currency once amounts are recorded in the ledger's) and NotAllowedForAgreement (MCA while
    auto-recharge is on); then nothing is recorded."""
    name, code, chosen, zone = validate_setup(organisation, currency, agreement, time_zone)
    now = datetime.now(UTC)
    with ledger.store.transaction() as con:
        kept = con.execute("SELECT currency FROM ledger_currency").fetchall()[0][0]
        if code != kept:
            if con.execute(_SQL["priced_records"]).fetchall()[0][0]:
                raise InvalidInput(
                    "currency",
                    f"This ledger already records amounts in {kept}; it cannot "
                    f"switch to {code}. Start a new ledger file for {code}.",
                )
            con.execute(_SQL["append_currency"], {"currency": code, "changed_at": now}).fetchall()
        # saved even when it is MOSA, the default: a later switch is then a second row, and calls before it keep
        # the answer (the first row saved holds back to the beginning: docs/billing.md)
        answered = con.execute("SELECT count(*) FROM agreement_change").fetchall()[0][0]
        if chosen is not current_agreement(con) or not answered:
            if chosen is Agreement.MCA and current_auto_recharge(con).enabled:
                raise NotAllowedForAgreement(
                    "Turn auto-recharge off before choosing a Microsoft Customer "
                    "Agreement (MCA): MCA tenants buy no credits."
                )
            append_setting(con, "agreement_change", {"agreement": chosen.value})
        append_setting(con, "tenant_setup", {"organisation": name, "time_zone": zone, "sample_data": bool(sample_data)})
    return Ledger(ledger.store, code)
