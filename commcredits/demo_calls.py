"""The demo tenant's call log: 14 months of calls in Microsoft Graph's pstnCallLogRow shape (getPstnCalls),
as a real tenant's log holds them: calling-plan calls at home and abroad, meeting dial-outs, toll-free calls into
the auto attendant, an Operator Connect carrier, charges in EUR, and the last day's charges not yet reported.
Deterministic for a given random generator state.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

# usage location -> the start of the demo's own numbers there (also the domestic numbers its people call)
OWN_PREFIX = {"US": "+1425555", "CA": "+1416555", "GB": "+44207946", "DE": "+49309018", "FR": "+3314567"}
# international destinations people call, with E.164 prefixes that phonenumbers recognises, how often, and
# the per-minute price the demo's "Microsoft" charges for them (invented, USD)
ABROAD = [
    ("+44 20 7946", 7, "0.04"),
    ("+49 30 9018", 6, "0.04"),
    ("+33 1 4567", 6, "0.04"),
    ("+52 55 5555", 4, "0.05"),
    ("+91 22 6123", 4, "0.09"),
    ("+81 3 5555", 2, "0.08"),
    ("+61 2 9999", 2, "0.06"),
    ("+55 11 5555", 2, "0.09"),
    ("+44 7700 900", 3, "0.10"),
    ("+49 151 2345", 2, "0.12"),
]
TOLL_FREE_PER_MINUTE = Decimal("0.03")
CONFERENCE_DIAL_OUT_PER_MINUTE = Decimal("0.024")  # charged to credits beyond what Audio Conferencing includes
TOLL_FREE_NUMBER = "+18005550100"


def demo_calls(rng: random.Random, callers: list[dict], start: datetime, days: int) -> list[dict]:
    """A call log in Microsoft Graph's pstnCallLogRow shape (getPstnCalls), one row per call."""
    log = _CallLog(rng)
    planned = [c for c in callers if c["plan"]]
    conferencing = [c for c in callers if not c["plan"]]
    for day in range(days):
        midnight = start + timedelta(days=day)
        if midnight.weekday() >= 5:
            continue
        busy = 1.0 + 0.3 * ((day // 30) % 3)  # some months are busier than others
        for caller in planned:
            _calling_plan_calls(log, caller, midnight, busy)
        for caller in rng.sample(conferencing, k=min(len(conferencing), 6)):
            _meeting_dial_out(log, caller, midnight)
        for _ in range(rng.randint(4, 12)):  # toll-free calls into the auto attendant, paid from credits
            _toll_free_call(log, midnight)
    log.rows.sort(key=lambda r: r["startDateTime"])
    return _billing_variety(log.rows, start + timedelta(days=days))


class _CallLog:
    """The rows made so far; each new row draws its ids from the log's random generator."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.rows: list[dict] = []

    def add(self, when, seconds, caller, call_type, callee, context, capability, charge="0.00") -> None:
        """One pstnCallLogRow; `caller` None is a call from outside into the toll-free number."""
        self.rows.append(
            {
                "id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
                "callId": f"{self.rng.getrandbits(40)}_{len(self.rows)}@52.114.2.1",
                "userId": caller and caller["id"],
                "userPrincipalName": caller and caller["upn"],
                "userDisplayName": caller and caller["name"],
                "startDateTime": when.isoformat().replace("+00:00", "Z"),
                "endDateTime": (when + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z"),
                "duration": seconds,
                "charge": charge,
                "connectionCharge": 0,
                "currency": "USD",
                "callType": call_type,
                "calleeNumber": callee,
                "callerNumber": caller["number"] if caller else TOLL_FREE_NUMBER,
                "destinationContext": context,
                "destinationName": None,
                "licenseCapability": capability,
                "inventoryType": "Subscriber" if caller else "Service Toll-Free",
                "operator": "Microsoft",
                "callDurationSource": "microsoft",
                "usageCountryCode": caller["country"] if caller else "US",
                "tenantCountryCode": "US",
            }
        )


def _calling_plan_calls(log: _CallLog, caller: dict, midnight: datetime, busy: float) -> None:
    """A Calling Plan user's day: a few domestic calls, and now and then (more in busy months) one abroad."""
    rng = log.rng
    for _ in range(rng.choices([0, 1, 2, 3], weights=[3, 4, 2, 1])[0]):
        when = midnight + timedelta(seconds=rng.randint(8 * 3600, 18 * 3600))
        seconds = int(rng.expovariate(1 / 300)) + 20
        domestic = f"{OWN_PREFIX[caller['country']]}{rng.randint(5000, 9999)}"
        log.add(when, seconds, caller, "user_out", domestic, "Domestic", caller["plan"])
    if rng.random() < 0.11 * busy:
        prefix, _, price = rng.choices(ABROAD, weights=[w for _, w, _ in ABROAD])[0]
        callee = "+" + "".join(ch for ch in prefix if ch.isdigit()) + f"{rng.randint(100, 999)}"
        when = midnight + timedelta(seconds=rng.randint(8 * 3600, 18 * 3600))
        seconds = int(rng.expovariate(1 / 1100)) + 60
        # a Domestic Calling Plan includes no international minutes: Microsoft charges them to credits
        domestic_plan = caller["plan"] == "MCOPSTN1"
        charge = _per_minute(seconds, Decimal(price)) if domestic_plan else "0.00"
        capability = "MCOPSTNPP" if domestic_plan else caller["plan"]
        log.add(when, seconds, caller, "user_out", callee, "International", capability, charge)


def _meeting_dial_out(log: _CallLog, caller: dict, midnight: datetime) -> None:
    """A meeting that dials a phone out: paid from credits beyond what the conferencing license includes."""
    rng = log.rng
    when = midnight + timedelta(seconds=rng.randint(8 * 3600, 18 * 3600))
    callee = f"{OWN_PREFIX[caller['country']]}{rng.randint(5000, 9999)}"
    seconds = int(rng.expovariate(1 / 1500)) + 60
    paid = rng.random() < 0.3
    capability = "MCOPSTNPP" if paid else "MCOMEETADD"
    charge = _per_minute(seconds, CONFERENCE_DIAL_OUT_PER_MINUTE) if paid else "0.00"
    log.add(when, seconds, caller, "conf_out", callee, "Domestic", capability, charge)


def _toll_free_call(log: _CallLog, midnight: datetime) -> None:
    when = midnight + timedelta(seconds=log.rng.randint(7 * 3600, 19 * 3600))
    seconds = int(log.rng.expovariate(1 / 240)) + 15
    log.add(
        when,
        seconds,
        None,
        "ucap_in",
        TOLL_FREE_NUMBER,
        "Domestic",
        "MCOPSTNPP",
        _per_minute(seconds, TOLL_FREE_PER_MINUTE),
    )


OPERATOR_CONNECT = "Fabrikam Telecom"  # an Operator Connect carrier (Microsoft's sample company name)


def _billing_variety(rows: list[dict], end: datetime) -> list[dict]:
    """What a real tenant's log also holds (docs/billing.md): French users' domestic calls carried by an
    Operator Connect carrier that bills them itself, German meeting dial-outs Microsoft charged in EUR, and
    the last day's charged calls still without a charge (the report lags 24-48 hours): estimates only."""
    recent = (end - timedelta(hours=30)).isoformat().replace("+00:00", "Z")
    for r in rows:
        if r["usageCountryCode"] == "FR" and r["callType"] == "user_out" and r["destinationContext"] == "Domestic":
            r.update(
                operator=OPERATOR_CONNECT,
                callDurationSource="operator",
                currency="EUR",
                charge=_per_minute(r["duration"], Decimal("0.02")),
                licenseCapability="MCOEV",
            )
        elif r["usageCountryCode"] == "DE" and r["callType"] == "conf_out" and r["licenseCapability"] == "MCOPSTNPP":
            r["currency"] = "EUR"
        if r["startDateTime"] >= recent and r["operator"] == "Microsoft" and r["charge"] != "0.00":
            r["charge"] = None
    return rows


def _per_minute(seconds: int, price: Decimal) -> str:
    """The demo's charge: per started minute, rounded half-up to the cent, as text (Graph sends a number)."""
    return str((-(-seconds // 60) * price).quantize(Decimal("0.01"), ROUND_HALF_UP))
