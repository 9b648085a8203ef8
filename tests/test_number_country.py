"""The destination country rating finds in SQL (number_country) is phonenumbers' answer, number for number:
spend by destination must not change because rating stopped asking phonenumbers about every number."""

from __future__ import annotations

import pandas as pd
import phonenumbers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import commcredits as cc
from commcredits.usage.destinations import ASK_PHONENUMBERS, destination_of, place_numbers

# calling codes several regions share (NANP area codes in other countries), shared-cost, toll-free, premium,
# non-geographic, masked, formatted, national prefixes after the code, too short, too long, not E.164 at all
TABLE = [
    "+14255550123",  # US
    "+12425550123",  # Bahamas (+1 242)
    "+14165550123",  # Canada (+1 416)
    "+17875550123",  # Puerto Rico
    "+18765550123",  # Jamaica
    "+16585550123",  # Jamaica's second area code
    "+18095550123",  # Dominican Republic
    "+18005550199",  # US toll-free
    "+18885550100",  # toll-free, shared by NANP
    "+19005550100",  # premium rate
    "+13405550123",  # US Virgin Islands
    "+16705550123",  # Northern Mariana Islands
    "+1 (206) 555-0100",  # formatted
    "+112065550100",  # national prefix 1 after the code
    "+1206555010",  # a digit short
    "+120655501001234567890",  # too long
    "+442079460000",  # GB
    "+441481256789",  # Guernsey
    "+441624756789",  # Isle of Man
    "+441534456789",  # Jersey
    "+447700900123",  # GB mobile
    "+448001111111",  # GB toll-free
    "+4402079460000",  # trunk 0 kept after +44
    "+4420722545**",  # masked
    "+1425555xxxx",  # masked NANP
    "+74951234567",  # Russia
    "+77172123456",  # Kazakhstan
    "+390669812345",  # Vatican
    "+390212345678",  # Italy
    "+41840123456",  # Swiss shared cost (0840)
    "+41800123456",  # Swiss toll-free
    "+61891621234",  # Christmas Island / Cocos
    "+61212345678",  # Australia
    "+358181234567",  # Åland
    "+4779123456",  # Svalbard
    "+262269612345",  # Mayotte
    "+590590271234",  # Guadeloupe
    "+5997151234",  # Caribbean Netherlands
    "+80012345678",  # international freephone: no country
    "+882345678901",  # non-geographic
    "+999123456",  # no such calling code
    "+0441234567",  # starts with 0
    "+4",
    "",
    "not a number",
    "+٤٤٢٠٧٩٤٦٠٠٠٠",  # Arabic-Indic digits
]


def countries(numbers: list[str]) -> dict[str, str | None]:
    """Each number's country as rating finds it: in SQL, or from phonenumbers where SQL asks it."""
    ledger = cc.open_ledger()
    with ledger.store.transaction() as con:
        con.register("_sample", pd.DataFrame({"number": numbers}, dtype=object))
        place_numbers(con, "SELECT DISTINCT number FROM _sample")
        rows = con.execute(
            f"""SELECT n.number, CASE WHEN n.destination_country = '{ASK_PHONENUMBERS}' THEN d.destination_country
                                      ELSE n.destination_country END
                FROM _number_country n LEFT JOIN phone_destination d USING (number)"""
        ).fetchall()
        asked = con.execute("SELECT count(*) FROM phone_destination").fetchall()[0][0]
    return dict(rows), asked


def test_the_country_of_each_listed_number_is_phonenumbers_answer():
    found, _ = countries(TABLE)
    assert found == {n: destination_of(n)[0] for n in TABLE}


def test_example_numbers_of_every_region_and_type_are_placed_in_sql_as_phonenumbers_places_them():
    examples = []
    for region in phonenumbers.SUPPORTED_REGIONS:
        for kind in (
            phonenumbers.PhoneNumberType.FIXED_LINE,
            phonenumbers.PhoneNumberType.MOBILE,
            phonenumbers.PhoneNumberType.TOLL_FREE,
            phonenumbers.PhoneNumberType.SHARED_COST,
        ):
            example = phonenumbers.example_number_for_type(region, kind)
            if example:
                examples.append(phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164))
    found, asked = countries(examples)
    assert found == {n: destination_of(n)[0] for n in examples}
    assert asked < len(set(examples)) / 20  # phonenumbers is asked about few of them, not each


CODES = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
NUMBERS = st.builds(
    lambda code, rest, mask, style: style.format(code=code, rest=rest) + mask,
    st.sampled_from(CODES),
    st.text("0123456789", max_size=18),
    st.sampled_from(["", "", "", "**", "x"]),
    st.sampled_from(["+{code}{rest}", "+{code} {rest}", "{code}-{rest}", "+{code}0{rest}", "+{code}1{rest}"]),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(NUMBERS, min_size=1, max_size=60))
def test_any_number_gets_phonenumbers_country(numbers):
    found, _ = countries(numbers)
    assert found == {n: destination_of(n)[0] for n in numbers}
