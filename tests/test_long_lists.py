"""Long lists an admin pages through and downloads whole: quarantined rows and calls needing attention.

What a user would notice: a summary by reason first; page 2 shows rows 51–100; the last page stops; the
downloaded CSV has every row, headers in plain words, and a cell that a spreadsheet would run is text."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import types
from datetime import UTC, datetime

import pytest

import commcredits as cc
from commcredits.ui.attention import attention_html
from commcredits.ui.long_list import position_text
from commcredits.ui.usage import UsagePage
from commcredits.usage.lists import attention_rows

JAN = datetime(2025, 1, 1, tzinfo=UTC)
BAD_ROWS = 120


def bad_calls_file() -> bytes:
    """120 calls with a negative duration, 3 without a start time and 2 lines of broken JSON: 125 quarantined
    rows of three kinds."""
    rows = [
        {
            "id": f"bad-{n:04d}",
            "userPrincipalName": "lee@contoso.com",
            "startDateTime": "2025-03-07T11:00:00Z",
            "duration": -n - 1,
            "charge": 0.25,
            "currency": "USD",
        }
        for n in range(BAD_ROWS)
    ]
    rows += [{"id": f"nostart-{n}", "duration": 5} for n in range(3)]
    return "\n".join(json.dumps(r) for r in rows).encode() + b"\n{not json\n{nor this\n"


def downloaded(long_list) -> list[dict]:
    """Click the download button, then read the CSV the link saves, as a spreadsheet would."""
    long_list.download.click()
    link = long_list.link.value
    payload = base64.b64decode(re.search(r"base64,([^\"]+)", link).group(1)).decode("utf-8")
    return list(csv.DictReader(io.StringIO(payload)))


@pytest.fixture
def usage_page():
    ledger = cc.open_ledger(":memory:")
    ledger.add_funds("20.00", at=JAN, order_id="JAN")
    page = UsagePage(ledger)
    content = bad_calls_file()
    # a file name made to run as a formula when the CSV is opened in Excel
    page.upload.value = (
        {
            "name": "=HYPERLINK(x).jsonl",
            "type": "",
            "size": len(content),
            "content": memoryview(content),
            "last_modified": JAN,
        },
    )
    page.import_button.click()
    return page


def test_quarantine_is_summarised_by_reason_before_the_rows(usage_page):
    assert usage_page.last_import.quarantined == BAD_ROWS + 5
    summary = usage_page.import_result.value
    assert re.search(r"negative duration</td><td class=\"cc-number\">120<", summary)
    assert re.search(r"missing start time</td><td class=\"cc-number\">3<", summary)
    assert re.search(r"a line is not valid JSON</td><td class=\"cc-number\">2<", summary)  # not one per line
    assert summary.index("negative duration") < summary.index("missing start time")  # most frequent first


def test_quarantine_pages_fifty_rows_at_a_time(usage_page):
    pager = usage_page.quarantine
    assert pager.position.value == "Rows 1–50 of 125"
    assert pager.previous.disabled and not pager.next.disabled
    assert pager.table.value.count("<tr>") == 1 + 50  # header + one page, never the whole list
    pager.next.click()
    assert pager.position.value == "Rows 51–100 of 125"
    rows_shown = re.findall(r"<td>(\d+)</td>", pager.table.value)  # the file's line numbers
    assert rows_shown == [str(n) for n in range(51, 101)] and not pager.previous.disabled
    pager.next.click()
    assert pager.position.value == "Rows 101–125 of 125" and pager.next.disabled
    pager.previous.click()
    pager.previous.click()
    assert pager.position.value == "Rows 1–50 of 125" and pager.previous.disabled


def test_quarantine_download_has_every_row_and_formulas_as_text(usage_page):
    rows = downloaded(usage_page.quarantine)
    assert len(rows) == BAD_ROWS + 5
    assert list(rows[0]) == ["File", "Row", "Reason", "Set aside (UTC)", "Row as read"]
    assert {r["File"] for r in rows} == {"'=HYPERLINK(x).jsonl"}  # shown as text, never run
    assert sum(r["Reason"].startswith("negative duration") for r in rows) == BAD_ROWS
    assert "quarantined-rows.csv" in usage_page.quarantine.link.value and "125 rows" in usage_page.quarantine.link.value


def test_position_reads_like_a_sentence():
    assert position_text(0, 50, 1234) == "Rows 1–50 of 1,234"
    assert position_text(1200, 34, 1234, "calls") == "Calls 1,201–1,234 of 1,234"
    assert position_text(0, 0, 0, "calls") == "No calls"


def test_every_call_needing_attention_can_be_paged_and_downloaded(demo_db_path):
    ledger = cc.open_ledger(demo_db_path)
    source = attention_rows(ledger)
    total = source.count()
    assert total > 50  # more than a page: the demo has estimate-only and other-currency calls
    usage = UsagePage(ledger)
    pager = usage.attention.calls
    assert pager.position.value == f"Calls 1–50 of {total:,}"
    pager.next.click()
    assert pager.position.value == f"Calls 51–100 of {total:,}"
    second = source.page(50, 50)
    first_user = second["user_principal_name"].iloc[0]
    assert first_user in pager.table.value
    assert pager.download.description == f"Download all {total:,} (CSV)"
    rows = downloaded(pager)
    assert len(rows) == total
    assert list(rows[0])[:5] == ["Started (UTC)", "User", "Status", "Amount", "Currency"]
    assert {r["Call ID"] for r in rows} == set(source.all()["usage_id"])
    # the Overview shows the newest five and links to the Usage page for the rest
    overview = attention_html(ledger, limit=5, more_hint='; all on the <a href="04_usage.ipynb">Usage page</a>')
    assert overview.count("<tr>") == 1 + 5 and f"the newest 5 of {total:,}" in overview


def test_step3_lists_every_user_left_out_a_page_at_a_time_and_in_the_csv(writable_demo_db):
    from commcredits.ui.credit_licenses import CreditLicensesForm

    form = CreditLicensesForm(cc.open_ledger(writable_demo_db))
    form.plan_button.click()
    left_out = form.plan.left_out_users
    assert len(left_out) > 50  # the demo tenant leaves out more users than a page shows
    assert f"All {len(left_out):,} users left out are listed" in form.plan_view.value
    assert form.left_out_box.layout.display is None
    assert form.left_out.position.value == f"Users 1–50 of {len(left_out):,}"
    form.left_out.next.click()
    assert form.left_out.position.value == f"Users 51–{min(100, len(left_out))} of {len(left_out):,}"
    assert left_out["user_principal_name"].iloc[50] in form.left_out.table.value
    rows = downloaded(form.left_out)
    assert [r["Username"] for r in rows] == list(left_out["user_principal_name"])
    assert list(rows[0]) == ["Display name", "Username", "Why left out (what is missing)"]
    # nobody is both in the plan and left out
    assert not set(left_out["user_principal_name"]) & set(form.plan.changes["user_principal_name"])


def test_a_refused_tenant_sync_lists_every_problem_not_the_first_twenty(monkeypatch):
    import commcredits.m365.sync as sync
    import commcredits.ui.m365 as m365_ui
    from commcredits.licensing.tenant import import_graph_tenant

    ledger = cc.open_ledger(":memory:")
    users = {
        "value": [
            {
                "id": f"22222222-0000-4000-8000-{n:012d}",
                "userPrincipalName": f"u{n:03d}@contoso.com",
                "displayName": "=HYPERLINK(1)" if n == 0 else f"User {n}",
                "usageLocation": "XX",
                "assignedLicenses": [],
            }
            for n in range(75)
        ]
    }

    def sync_with_bad_users(ledger, connection, **_kwargs):  # what Graph sent, imported the way sync does
        import_graph_tenant(ledger.store, users, {"value": []}, source="Microsoft Graph sync")

    monkeypatch.setattr(sync, "sync_m365", sync_with_bad_users)
    monkeypatch.setattr(m365_ui, "current_connection", lambda: types.SimpleNamespace(who=lambda: "admin"))
    page = m365_ui.M365Page(ledger)
    page.sync_button.click()
    assert "Nothing was imported" in page.status.value and "75 problems" in page.status.value
    assert re.search(r"Usage location \(usageLocation\)</td><td class=\"cc-number\">75<", page.status.value)
    assert "and 55 more" not in page.status.value and page.problems.widget.layout.display is None
    assert page.problems.position.value == "Problems 1–50 of 75"
    page.problems.next.click()
    assert page.problems.position.value == "Problems 51–75 of 75" and "u074@contoso.com" in page.problems.table.value
    rows = downloaded(page.problems)
    assert len(rows) == 75 and rows[0]["Field"] == "Usage location (usageLocation)"
    assert all(not v.startswith(("=", "+", "-", "@")) for r in rows for v in r.values())


def test_an_empty_list_says_so_without_a_pager_and_a_short_one_without_previous_next():
    from commcredits.ui.alerts import AlertsPage

    page = AlertsPage(cc.open_ledger(":memory:"))
    history = page.history
    assert "Nothing yet." in history.table.value and history.pager.layout.display == "none"
    ledger = cc.open_ledger(":memory:")
    ledger.add_funds("20.00", at=JAN, order_id="JAN")
    usage = UsagePage(ledger)
    content = b'{"id": "x", "duration": 5}\n'
    usage.upload.value = (
        {"name": "one.jsonl", "type": "", "size": len(content), "content": memoryview(content), "last_modified": JAN},
    )
    usage.import_button.click()
    pager = usage.quarantine
    assert pager.position.value == "Rows 1–1 of 1" and pager.download.description == "Download (CSV)"
    assert pager.previous.layout.display == "none" and pager.next.layout.display == "none"
