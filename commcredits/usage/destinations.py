"""Where a callee number goes: its country and number type, from the E.164 number with `phonenumbers`."""

from __future__ import annotations

from functools import cache

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


def fill_destinations(con, numbers_sql: str, parameters: dict | None = None) -> int:
    """Look up, with phonenumbers, the country and number type of the numbers `numbers_sql` selects (numbers
    not in phone_destination yet) and store them there: once per number."""
    numbers = [r[0] for r in con.execute(numbers_sql, parameters).fetchall()]
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


# ---- the country alone, set-based ------------------------------------------------------------------------
# Outbound calls Microsoft charged need only their destination country (spend by destination), and there may be
# one distinct number per call. phonenumbers answers ~3,000 numbers a second; the SQL of number_country_sql(codes)
# answers the same question inside DuckDB from phonenumbers' own metadata: a country calling code held by one
# region gives that region whatever follows; a code shared by several regions (+1, +7, +44, ...) tries them in
# phonenumbers' order, by leading digits or by whether the number is valid there (its RE2 patterns). It returns
# '?' where that would not be exactly phonenumbers' answer (a national prefix parse() would strip, a leading 0,
# an odd length): those few go to destination_of. tests/test_number_country.py checks it against phonenumbers.
ASK_PHONENUMBERS = "?"
NATIONAL_DIGITS = (2, 17)  # parse() refuses national numbers shorter or longer
TYPE_DESCS = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan", "voicemail")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _matches(desc, national: str) -> str | None:
    """SQL for phonenumbers' _is_number_matching_desc: a possible length, then the whole pattern."""
    if desc is None or not desc.national_number_pattern:
        return None
    full = f"regexp_full_match({national}, {_literal(desc.national_number_pattern)})"
    if desc.possible_length:
        return f"(length({national}) IN ({', '.join(str(n) for n in desc.possible_length)}) AND {full})"
    return full


def _valid_in(metadata, national: str) -> str:
    """SQL true where phonenumbers' _number_type_helper is not UNKNOWN for this region."""
    descs = [getattr(metadata, name) for name in TYPE_DESCS] + [metadata.fixed_line, metadata.mobile]
    kinds = [m for m in (_matches(d, national) for d in descs) if m]
    general = _matches(metadata.general_desc, national)
    if not kinds or not general:
        return "false"
    return f"({general} AND ({' OR '.join(kinds)}))"


def _shared_code_country(code: int, regions: tuple[str, ...]) -> str:
    """SQL for a calling code several regions share: phonenumbers' _region_code_for_number_from_list on a
    national number parse() keeps as it is, else '?'; no region matching gives the code's main region."""
    national = f"d[{len(str(code)) + 1}:]"
    main = phonenumbers.PhoneMetadata.metadata_for_region(regions[0])
    unchanged = [f"length({national}) BETWEEN {NATIONAL_DIGITS[0]} AND {NATIONAL_DIGITS[1]}", f"{national}[1] <> '0'"]
    if main.national_prefix_for_parsing:
        unchanged.append(f"NOT regexp_matches({national}, {_literal('^(?:' + main.national_prefix_for_parsing + ')')})")
    tries = []
    for region in regions:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        if metadata.leading_digits is not None:
            test = f"regexp_matches({national}, {_literal('^(?:' + metadata.leading_digits + ')')})"
        else:
            test = _valid_in(metadata, national)
        tries.append(f"WHEN {test} THEN '{region}'")
    return (
        f"CASE WHEN masked THEN '{regions[0]}' WHEN NOT ({' AND '.join(unchanged)}) THEN '{ASK_PHONENUMBERS}' "
        f"ELSE CASE {' '.join(tries)} ELSE '{regions[0]}' END END"
    )


def _calling_codes_of(leading: set[str]) -> tuple[int, ...]:
    """The calling codes that begin some of these leading (up to 3) digits: codes have 1-3 digits."""
    heads = {digits[:n] for digits in leading for n in (1, 2, 3)}
    return tuple(code for code in sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE) if str(code) in heads)


@cache
def number_country_sql(codes: tuple[int, ...]) -> str:
    """SQL for the ISO country of the digits `d` of a number (`masked`: some digits hidden), NULL when none, '?'
    when only phonenumbers can say; with the branches of `codes` only (binding the regular expressions of every
    calling code costs ~0.05 s a query, the numbers of a tenant's calls start with a handful of codes). A number
    whose code is not in `codes` gets NULL, as it would from the full expression when `codes` holds every code
    beginning any number asked about."""
    branches = []
    for code in codes:
        regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE[code]
        if len(regions) == 1:
            country = "NULL" if regions[0] == phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY else f"'{regions[0]}'"
        else:
            country = _shared_code_country(code, regions)
        branches.append(f"WHEN starts_with(d, '{code}') THEN {country}")
    return f"CASE WHEN d = '' OR d[1] = '0' THEN '{ASK_PHONENUMBERS}' {' '.join(branches)} ELSE NULL END"


def place_numbers(con, numbers_sql: str) -> int:
    """Stage _number_country(number, destination_country) for the distinct numbers `numbers_sql` selects: the
    country phone_destination holds, else number_country_sql's in SQL; the few only phonenumbers can place are
    looked up there (and stored in phone_destination). Returns how many phonenumbers looked up."""
    con.execute(
        # the digits in a column of their own: the expression repeats them in every branch
        f"""CREATE OR REPLACE TEMP TABLE _numbers_to_place AS
        SELECT n.number, p.number IS NOT NULL AS known, p.destination_country AS known_country,
               regexp_replace(n.number, '[^0-9]', '', 'g') AS d, regexp_matches(n.number, '[*xX#]') AS masked,
               regexp_full_match(n.number, '[ -~]*') AS ascii
        FROM ({numbers_sql}) AS n(number) LEFT JOIN phone_destination p ON p.number = n.number"""
    )
    leading = "SELECT DISTINCT d[1:3] FROM _numbers_to_place WHERE NOT known AND ascii"
    codes = _calling_codes_of({row[0] for row in con.execute(leading).fetchall()})
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _number_country AS
        SELECT number,
               CASE WHEN known THEN known_country
                    WHEN NOT ascii THEN '{ASK_PHONENUMBERS}'
                    ELSE {number_country_sql(codes)}
               END AS destination_country
        FROM _numbers_to_place"""
    )
    asked = f"SELECT number FROM _number_country WHERE destination_country = '{ASK_PHONENUMBERS}'"
    looked_up = fill_destinations(con, asked)
    if looked_up:
        con.execute(
            f"""UPDATE _number_country n SET destination_country = d.destination_country FROM phone_destination d
            WHERE n.destination_country = '{ASK_PHONENUMBERS}' AND d.number = n.number"""
        )
    return looked_up
