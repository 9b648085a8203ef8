"""The bad-input catalogue: every input a hostile tester tried (issue 9) and its neighbours. Each row is one
input, the named error it must raise (class and field) or the reason its file or row is quarantined with,
and the check that the ledger is unchanged (a hash of every ledger table before and after)."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from billing_fields import CONTOSO_BILLING

import commcredits as cc
from commcredits.credits.billing import BillingDetails, save_billing
from commcredits.credits.funding import OrderRequest, review_order
from commcredits.usage.call_import import import_pstn_calls, quarantined_rows

UTC = UTC
NOW = datetime.now(UTC)
CARD = "4111111111111111"  # Visa's public test number: passes Luhn
GOOD_BILLING = CONTOSO_BILLING
LEDGER_TABLES = (
    "entry",
    "allocation",
    "lot",
    "invoice",
    "auto_recharge_change",
    "agreement_change",
    "billing_change",
    "usage_in_arrears",
    "pstn_call",
)


def ledger_hash(ledger) -> str:
    digest = hashlib.sha256()
    for table in LEDGER_TABLES:
        digest.update(repr(ledger.store.query(f"SELECT * FROM {table} ORDER BY ALL")).encode())
    return digest.hexdigest()


@pytest.fixture
def ledger():
    ledger = cc.open_ledger(":memory:", currency="USD")
    ledger.add_funds("100.00", at=NOW - timedelta(days=3), order_id="seed-order")
    ledger.spend("1.50", at=NOW - timedelta(days=2), usage_id="seed-call")
    return ledger


def page(rows) -> str:
    return json.dumps({"value": rows})


def call_row(**fields):
    row = {
        "id": "row-1",
        "callId": "c-1",
        "userPrincipalName": "a@contoso.com",
        "startDateTime": "2026-01-05T10:00:00Z",
        "endDateTime": "2026-01-05T10:01:00Z",
        "duration": 60,
        "charge": 0.12,
        "currency": "USD",
    }
    row.update(fields)
    return row


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def write(tmp_path, name: str, data: str | bytes):
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


# ---- the catalogue: (id, action(ledger, tmp_path), error class, field) --------------------------------------


def funds(amount):
    return lambda ledger, tmp: ledger.add_funds(amount, at=None, order_id="new-order")


def spend(amount):
    return lambda ledger, tmp: ledger.spend(amount, at=None, usage_id="new-call")


def funds_at(when):
    return lambda ledger, tmp: ledger.add_funds("10.00", at=when, order_id="new-order")


def key(order_id=None, usage_id=None):
    if order_id is not None:
        return lambda ledger, tmp: ledger.add_funds("10.00", at=None, order_id=order_id)
    return lambda ledger, tmp: ledger.spend("1.00", at=None, usage_id=usage_id)


def billing(**override):
    return lambda ledger, tmp: save_billing(ledger.store, BillingDetails(**{**GOOD_BILLING, **override}))


def import_file(name, data):
    return lambda ledger, tmp: import_pstn_calls(ledger, write(tmp, name, data))


def tenant_skus(data):
    return lambda ledger, tmp: cc.import_graph_tenant(
        ledger.store, users=write(tmp, "users.json", page([])), subscribed_skus=write(tmp, "skus.json", data)
    )


SKU = {
    "skuId": "0c266dff-15dd-4b49-8397-2bb16070ed52",
    "skuPartNumber": "MCOMEETADV",
    "prepaidUnits": {"enabled": 10},
    "consumedUnits": 1,
    "servicePlans": [],
}

RAISED = [
    # amounts: exponent notation, beyond the documented bound, card numbers, non-numbers, wrong precision
    ("funds 1e30", funds("1e30"), cc.InvalidAmount, "amount"),
    ("funds 1E6", funds("1E6"), cc.InvalidAmount, "amount"),
    ("funds 2.5e-1", funds("2.5e-1"), cc.InvalidAmount, "amount"),
    ("funds 16 nines", funds("9999999999999999.99"), cc.InvalidAmount, "amount"),
    ("funds just over the bound", funds("1000000000.01"), cc.InvalidAmount, "amount"),
    ("funds card number", funds(CARD), cc.InvalidAmount, "amount"),
    ("funds NaN", funds("NaN"), cc.InvalidAmount, "amount"),
    ("funds Infinity", funds("Infinity"), cc.InvalidAmount, "amount"),
    ("funds -Infinity", funds("-Infinity"), cc.InvalidAmount, "amount"),
    ("funds sNaN", funds("sNaN"), cc.InvalidAmount, "amount"),
    ("funds underscores", funds("1_000"), cc.InvalidAmount, "amount"),
    ("funds Arabic-Indic digits", funds("١٢"), cc.InvalidAmount, "amount"),
    ("funds full-width digits", funds("１２"), cc.InvalidAmount, "amount"),
    ("funds hex", funds("0x10"), cc.InvalidAmount, "amount"),
    ("funds comma decimal", funds("12,50"), cc.InvalidAmount, "amount"),
    ("funds three decimals", funds("12.345"), cc.InvalidAmount, "amount"),
    ("funds negative", funds("-5"), cc.InvalidAmount, "amount"),
    ("funds zero", funds("0"), cc.InvalidAmount, "amount"),
    ("funds minus zero", funds("-0"), cc.InvalidAmount, "amount"),
    ("funds empty", funds(""), cc.InvalidAmount, "amount"),
    ("funds blank", funds("   "), cc.InvalidAmount, "amount"),
    ("funds float", funds(12.5), cc.InvalidAmount, "amount"),
    ("funds bool", funds(True), cc.InvalidAmount, "amount"),
    ("funds None", funds(None), cc.InvalidAmount, "amount"),
    ("funds list", funds([10]), cc.InvalidAmount, "amount"),
    ("funds Decimal 1e30", funds(Decimal("1e30")), cc.InvalidAmount, "amount"),
    ("funds Decimal NaN", funds(Decimal("NaN")), cc.InvalidAmount, "amount"),
    ("funds int 10**30", funds(10**30), cc.InvalidAmount, "amount"),
    ("funds Decimal 1e-30", funds(Decimal("1e-30")), cc.InvalidAmount, "amount"),
    ("spend 1e30", spend("1e30"), cc.InvalidAmount, "amount"),
    ("spend 16 nines", spend("9999999999999999.99"), cc.InvalidAmount, "amount"),
    ("spend card number", spend(CARD), cc.InvalidAmount, "amount"),
    (
        "recharge amount 1e30",
        lambda l, t: l.set_auto_recharge(amount="1e30", below="10.00"),
        cc.InvalidAmount,
        "amount",
    ),
    (
        "recharge below 16 nines",
        lambda l, t: l.set_auto_recharge(amount="50.00", below="9999999999999999.99"),
        cc.InvalidAmount,
        "below",
    ),
    # times: beyond the horizon, before 2000, naive, not a time, out of range in another zone
    ("at year 9999", funds_at(datetime(9999, 6, 1, tzinfo=UTC)), cc.InvalidTime, "at"),
    ("at year 2999", funds_at(datetime(2999, 1, 1, tzinfo=UTC)), cc.InvalidTime, "at"),
    ("at two days ahead", funds_at(NOW + timedelta(days=2)), cc.InvalidTime, "at"),
    ("at 1999", funds_at(datetime(1999, 12, 31, tzinfo=UTC)), cc.InvalidTime, "at"),
    ("at naive", funds_at(datetime(2026, 1, 1)), cc.InvalidTime, "at"),
    ("at text", funds_at("2026-01-01"), cc.InvalidTime, "at"),
    ("at max in UTC-5", funds_at(datetime.max.replace(tzinfo=timezone(timedelta(hours=-5)))), cc.InvalidTime, "at"),
    (
        "spend at 9999",
        lambda l, t: l.spend("1.00", at=datetime(9999, 6, 1, tzinfo=UTC), usage_id="x"),
        cc.InvalidTime,
        "at",
    ),
    ("expire at 9999", lambda l, t: l.expire(datetime(9999, 6, 1, tzinfo=UTC)), cc.InvalidTime, "at"),
    ("backdated spend", lambda l, t: l.spend("1.00", at=NOW - timedelta(days=30), usage_id="x"), cc.InvalidTime, "at"),
    # ids: broken text, control characters, empty, too long, not text
    ("usage id lone surrogate", key(usage_id="r1-\ud800"), cc.InvalidInput, "usage_id"),
    ("order id lone surrogate", key(order_id="\udfff-order"), cc.InvalidInput, "order_id"),
    ("usage id NUL", key(usage_id="x\x00y"), cc.InvalidInput, "usage_id"),
    ("usage id newline", key(usage_id="line\nbreak"), cc.InvalidInput, "usage_id"),
    ("order id empty", key(order_id=""), cc.InvalidInput, "order_id"),
    ("order id blank", key(order_id="   "), cc.InvalidInput, "order_id"),
    ("order id too long", key(order_id="o" * 201), cc.InvalidInput, "order_id"),
    ("usage id int", key(usage_id=123), cc.InvalidInput, "usage_id"),
    (
        "order id replayed with another amount",
        lambda l, t: l.add_funds("5.00", at=None, order_id="seed-order"),
        cc.IdempotencyConflict,
        "order_id",
    ),
    ("agreement unknown", lambda l, t: l.set_agreement("FOO"), cc.InvalidInput, "agreement"),
    ("currency four letters", lambda l, t: cc.open_ledger(":memory:", currency="USDX"), cc.InvalidInput, "currency"),
    ("currency three decimals", lambda l, t: cc.open_ledger(":memory:", currency="BHD"), cc.InvalidInput, "currency"),
    ("currency unknown", lambda l, t: cc.open_ledger(":memory:", currency="ZZZ"), cc.InvalidInput, "currency"),
    # billing: a card number in any field
    ("card in PO number", billing(po_number=CARD), cc.InvalidDetails, "po_number"),
    ("card in tax id", billing(tax_id="4111-1111-1111-1111"), cc.InvalidDetails, "tax_id"),
    ("card in address", billing(address=f"1 Way {CARD}"), cc.InvalidDetails, "address"),
    ("card in company", billing(company="4111 1111 1111 1111"), cc.InvalidDetails, "company"),
    ("card in city", billing(city="Amex 378282246310005"), cc.InvalidDetails, "city"),
    ("card in postal code", billing(postal_code="5555555555554444"), cc.InvalidDetails, "postal_code"),
    ("card in e-mail", billing(invoice_email=f"{CARD}@contoso.com"), cc.InvalidDetails, "invoice_email"),
    (
        "full card in last four",
        billing(payment_method="card", card_brand="Visa", card_last4=CARD),
        cc.InvalidDetails,
        "card_last4",
    ),
    # call log files refused by kind, or missing
    ("calls.txt", import_file("calls.txt", page([call_row()])), cc.InvalidInput, "source"),
    ("calls.xlsx", import_file("calls.xlsx", b"PK\x03\x04"), cc.InvalidInput, "source"),
    ("missing file", lambda l, t: import_pstn_calls(l, t / "nope.json"), cc.InvalidInput, "source"),
    (
        "folder with no call logs",
        lambda l, t: (write(t, "notes.txt", "x"), import_pstn_calls(l, t)),
        cc.InvalidInput,
        "source",
    ),
    # tenant JSON
    (
        "prepaidUnits 10**20",
        tenant_skus(page([{**SKU, "prepaidUnits": {"enabled": 10**20}}])),
        cc.TenantImportError,
        "prepaidUnits.enabled",
    ),
    ("consumedUnits -1", tenant_skus(page([{**SKU, "consumedUnits": -1}])), cc.TenantImportError, "consumedUnits"),
    ("tenant JSON truncated", tenant_skus(page([SKU])[:-5]), cc.TenantImportError, "JSON"),
    ("tenant JSON nested 100000 deep", tenant_skus("[" * 100_000 + "]" * 100_000), cc.TenantImportError, "JSON"),
    ("tenant JSON Latin-1 bytes", tenant_skus(b'{"value": [{"skuPartNumber": "\xe9"}]'), cc.TenantImportError, "JSON"),
]


@pytest.mark.parametrize("action, error, field", [r[1:] for r in RAISED], ids=[r[0] for r in RAISED])
def test_bad_input_raises_a_named_error_and_changes_nothing(ledger, tmp_path, action, error, field):
    before = ledger_hash(ledger)
    with pytest.raises(error) as raised:
        action(ledger, tmp_path)
    assert isinstance(raised.value, ValueError) and raised.value.field == field, raised.value
    assert str(raised.value).strip()
    assert ledger_hash(ledger) == before


# ---- files and rows that are quarantined with a reason (the ledger's money is unchanged) ----------------

BOMB = zip_bytes({"Calls.Export.csv": b"UsageId,Start Time\n" + b"0" * (60 << 20)})
DEEP = "[" * 100_000 + "]" * 100_000

QUARANTINED = [
    ("non-zip .zip", "Calls.Export.zip", b"this is not a zip", r"not a zip archive"),
    ("zip bomb", "Calls.Export.zip", BOMB, r"zip bomb"),
    ("zip without a CSV", "Calls.Export.zip", zip_bytes({"readme.txt": b"hello"}), r"no CSV file inside"),
    (
        "truncated Graph page, pretty",
        "page.json",
        json.dumps({"value": [call_row()]}, indent=2)[:-10],
        r"not a complete JSON document",
    ),
    ("truncated Graph page, one line", "page.json", page([call_row()])[:-7], r"not a complete JSON document"),
    ("deeply nested JSON, one line", "page.json", DEEP, r"nested more than"),
    ("deeply nested JSON, pretty", "page.json", "{\n" + '"value": ' + DEEP + "\n}", r"nested more than"),
    ("deeply nested JSON lines", "calls.jsonl", DEEP + "\n" + DEEP + "\n", r"nested more than"),
    ("user-list CSV", "users.csv", "UserPrincipalName,DisplayName\na@contoso.com,A\n", r"no UsageId column"),
    ("JSON lines with a broken line", "calls.jsonl", "{broken\n", r"not valid JSON"),
    (
        "row dated 2999",
        "page.json",
        page([call_row(startDateTime="2999-01-01T00:00:00Z")]),
        r"more than a day in the future",
    ),
    ("row charge 1e30", "page.json", page([call_row(charge="1e30")]), r"charge is not a number"),
    ("row with a negative charge", "page.json", page([call_row(charge=-1)]), r"negative charge"),
    ("row that is not an object", "page.json", json.dumps({"value": [42]}), r"not a JSON object"),
    ("empty .json file", "page.json", "", r"the file is empty"),
    ("empty .csv file", "Calls.Export.csv", "", r"the file is empty"),
]


@pytest.mark.parametrize("name, data, reason", [r[1:] for r in QUARANTINED], ids=[r[0] for r in QUARANTINED])
def test_bad_file_or_row_is_quarantined_with_its_reason(ledger, tmp_path, name, data, reason):
    before = ledger_hash(ledger)
    report = import_pstn_calls(ledger, write(tmp_path, name, data))
    assert report.quarantined >= 1 and report.imported == 0
    assert quarantined_rows(ledger)["reason"].str.contains(reason).any(), list(quarantined_rows(ledger)["reason"])
    assert ledger_hash(ledger) == before


# ---- awkward but valid: read correctly -----------------------------------------------------------------

CSV_TEXT = "UsageId,Start Time,UPN,Charge,Currency,User Display Name\nu-1,2026-01-05T10:00:00Z,a@contoso.com,0.12,USD,Zoë Müller\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "cp1252", "latin-1"])
def test_admin_center_csv_is_read_in_every_encoding_windows_tools_write(ledger, tmp_path, encoding):
    data = CSV_TEXT.encode(encoding)
    report = import_pstn_calls(ledger, write(tmp_path, "Calls.Export.csv", data))
    assert report.imported == 1, quarantined_rows(ledger)
    (name,) = ledger.store.query("SELECT user_display_name FROM pstn_call")[0]
    assert name == "Zoë Müller"


def test_a_zipped_utf16_export_is_read(ledger, tmp_path):
    report = import_pstn_calls(
        ledger, write(tmp_path, "Calls.Export.zip", zip_bytes({"Calls.csv": CSV_TEXT.encode("utf-16")}))
    )
    assert report.imported == 1


def test_a_graph_page_on_one_line_over_2_mib_is_read(ledger, tmp_path):
    rows = [call_row(id=f"row-{i}", callId=f"c-{i}", userDisplayName="x" * 400) for i in range(6000)]
    text = page(rows)
    assert len(text) > 2 * 1024 * 1024 and "\n" not in text
    assert import_pstn_calls(ledger, write(tmp_path, "page.json", text)).imported == 6000


def test_largest_amounts_many_times_stay_readable(ledger):
    for n in range(20):
        ledger.add_funds("1000000000.00", at=None, order_id=f"big-{n}")
    assert ledger.entries()["balance_after"].iloc[-1] == Decimal("20000000098.50")
    assert len(ledger.balance_history()) == len(ledger.entries())


def test_purchases_beyond_the_ledger_total_are_refused(ledger, monkeypatch):
    from commcredits.credits import ledger as ledger_module

    monkeypatch.setattr(ledger_module, "MAX_LEDGER_TOTAL", Decimal("150.00"))
    before = ledger_hash(ledger)
    with pytest.raises(cc.InvalidAmount) as raised:
        ledger.add_funds("60.00", at=None, order_id="too-much")
    assert raised.value.field == "amount"
    # the field, and the largest amount the admin can still buy, in plain words
    assert raised.value.message.startswith("Amount: too large.")
    assert (
        f"the largest amount accepted now is {Decimal('150.00') - ledger.lots()['amount'].sum():,} USD"
        in raised.value.message
    )
    assert ledger_hash(ledger) == before


def test_an_amount_too_large_names_the_field_and_the_largest_amount_accepted():
    from commcredits.money import parse_typed_amount

    with pytest.raises(cc.InvalidAmount) as raised:
        parse_typed_amount("2,000,000,000.00", "USD", "en_US", "recharge_amount")
    assert raised.value.field == "recharge_amount"
    assert raised.value.message == (
        "Add this amount: '2000000000.00' is too large: the largest amount accepted is "
        "1,000,000,000.00 USD. Check the number."
    )
    assert "ledger" not in raised.value.message


@pytest.mark.parametrize(
    "typed, words",
    [
        ("1e6", "exponent"),
        ("4111 1111 1111 1111", "card number"),
        ("-5", "greater than zero"),
        ("ten", "not an amount"),
    ],
)
def test_the_order_form_names_the_amount_field(ledger, typed, words):
    review, problems = review_order(ledger, OrderRequest(typed, BillingDetails(**GOOD_BILLING), False), order_id="o")
    assert review is None
    assert [p.field for p in problems] == ["amount"] and words in problems[0].message


def test_catalogue_is_at_least_sixty_rows():
    assert len(RAISED) + len(QUARANTINED) >= 60
