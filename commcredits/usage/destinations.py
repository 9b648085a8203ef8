"""Where a callee number goes: its country and number type, from the E.164 number with `phonenumbers`."""

from __future__ import annotations

import pandas as pd
import phonenumbers

NUMBER_TYPES = {
    phonenumbers.PhoneNumberType.MOBILE: "mobile",
    phonenumbers.PhoneNumberType.TOLL_FREE: "toll_free",
    # shared-cost numbers (e.g. Swiss 0840) are paid partly by the caller: not toll-free, priced like fixed lines
    # unless the rate card names them (issue 20: they raised false toll-free alerts)
    phonenumbers.PhoneNumberType.SHARED_COST: "shared_cost",
}


def destination_of(number: str | None) -> tuple[str | None, str | None]:
    """(ISO country, number type) of an E.164 number; masked digits ('+4420722545**') fall back to the
    country calling code. Number type is 'fixed', 'mobile' or 'toll_free' (None when unknown)."""
    if not number:
        return None, None
    digits = "".join(ch for ch in str(number) if ch.isdigit())
    if not digits:
        return None, None
    masked = any(ch in "*xX#" for ch in str(number))
    if not masked:
        try:
            parsed = phonenumbers.parse("+" + digits, None)
            region = phonenumbers.region_code_for_number(parsed)
            if region and region != "001":
                return region, NUMBER_TYPES.get(phonenumbers.number_type(parsed), "fixed")
        except phonenumbers.NumberParseException:
            pass
    for length in (1, 2, 3):
        region = phonenumbers.region_code_for_country_code(int(digits[:length]))
        if region not in ("ZZ", "001"):
            return region, None
    return None, None


def fill_destinations(con, numbers_sql: str) -> int:
    """Look up, with phonenumbers, the country and number type of the numbers `numbers_sql` selects (numbers
    not in phone_destination yet) and store them there: once per number."""
    numbers = [r[0] for r in con.execute(numbers_sql).fetchall()]
    if not numbers:
        return 0
    found = [destination_of(n) for n in numbers]
    frame = pd.DataFrame(
        {"number": numbers, "destination_country": [f[0] for f in found], "number_type": [f[1] for f in found]}
    )
    con.register("_destinations", frame)
    try:
        con.execute("INSERT INTO phone_destination SELECT number, destination_country, number_type FROM _destinations")
    finally:
        con.unregister("_destinations")
    return len(numbers)
