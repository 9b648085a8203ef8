"""Usage page driven without a browser: import through the page, duplicates, quarantine reasons, settle, bad files."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from test_call_charges import graph_row

import commcredits as cc
from commcredits.ui.usage import BLOCKED_REASON, UsagePage, run_import
from commcredits.ui.usage_import import import_steps
from commcredits.usage import call_files, call_import
from commcredits.usage.lists import quarantine_rows

CALLS = Path(__file__).parent / "fixtures" / "calls"
JSONL = CALLS / "calls.jsonl"
CSV = CALLS / "PSTN.calls.2025-03-31.csv"
JAN = datetime(2025, 1, 1, tzinfo=UTC)


def upload(name: str, content: bytes) -> dict:
    return {
        "name": name,
        "type": "",
        "size": len(content),
        "content": memoryview(content),
        "last_modified": datetime(2025, 4, 1, tzinfo=UTC),
    }


def upload_file(page: UsagePage, *paths: Path) -> None:
    page.upload.value = tuple(upload(p.name, p.read_bytes()) for p in paths)
    page.import_button.click()


def import_shown(page: UsagePage) -> str:
    """What the import result shows: the cards, the reasons summary and the page of quarantined rows."""
    return page.import_result.value + page.quarantine.table.value


def counts(ledger) -> tuple[int, int]:
    return ledger.store.query("SELECT (SELECT count(*) FROM pstn_call), (SELECT count(*) FROM pstn_call_quarantine)")[0]


@pytest.fixture
def ledger():
    ledger = cc.open_ledger(":memory:")
    ledger.add_funds("20.00", at=JAN, order_id="JAN")
    return ledger


def test_upload_imports_and_shows_counts_progress_and_quarantine_reasons(ledger):
    page = UsagePage(ledger)
    upload_file(page, JSONL, CSV)
    assert page.import_status.value == ""
    assert page.last_import.imported == 6 and page.last_import.duplicates == 2 and page.last_import.quarantined == 4
    result = import_shown(page)
    assert 'cc-imported"><div class="cc-label">Imported</div><div class="cc-value">6<' in result
    assert "negative duration: -5" in result and "line 4 is not valid JSON" in result
    assert "Expected Number of Columns" in result and "start time is not a date and time" in result
    assert "commcredits-upload-" not in result  # people see their file names, not temp folders
    assert page.progress.value == 100 and page.progress.bar_style == "success"
    assert page.upload.value == ()  # the bytes are not kept in the kernel
    assert counts(ledger) == (6, 4)


def test_importing_the_same_file_again_shows_everything_as_duplicates(ledger):
    page = UsagePage(ledger)
    upload_file(page, JSONL)
    upload_file(page, JSONL)
    assert (page.last_import.imported, page.last_import.duplicates, page.last_import.quarantined) == (0, 3, 2)
    assert 'Skipped as duplicates</div><div class="cc-value">3<' in page.import_result.value
    assert "negative duration" in page.import_result.value  # the reasons are still shown for this file
    assert counts(ledger) == (3, 2)


def test_server_path_imports_a_folder_of_graph_pages(ledger):
    page = UsagePage(ledger)
    page.path.value = str(CALLS / "graph_pages")
    page.import_button.click()
    assert (page.last_import.imported, page.last_import.duplicates, page.last_import.quarantined) == (5, 1, 4)
    assert "page-001.json" in import_shown(page) or "page-002.json" in import_shown(page)
    assert page.path.value == ""


def test_settle_reports_settled_unrated_and_spend(ledger):
    page = UsagePage(ledger)
    upload_file(page, JSONL, CSV)
    page.settle_button.click()
    report = page.last_settlement
    assert report.settled == 4 and report.amount == Decimal("1.72") and report.blocked == 0
    result = page.settle_result.value
    assert "4 calls" in result and "$1.72 paid from credits" in result and "Unrated" in result
    assert "richard.malk@contoso.com" in page.spend.value and "$1.36" in page.spend.value
    heading, chart = page.chart.outputs  # the chart under its own heading (readable on a phone)
    assert "Credits spent per month" in heading["data"]["text/html"]
    assert "application/vnd.plotly.v1+json" in chart["data"]
    page.settle_button.click()  # settling again settles nothing twice
    assert page.last_settlement.settled == 0 and len(ledger.entries()) == 1 + 4


def test_blocked_calls_are_listed_with_the_reason_in_plain_words():
    ledger = cc.open_ledger(":memory:")
    ledger.add_funds("1.00", at=JAN, order_id="SMALL")
    page = UsagePage(ledger)
    upload_file(page, JSONL)  # 1.36 and 0.25 charged: the first cannot be covered, auto-recharge is off
    page.settle_button.click()
    report = page.last_settlement
    assert report.blocked == 1 and report.blocked_amount == Decimal("1.36") and report.settled >= 1
    assert BLOCKED_REASON in page.settle_result.value and "9c4984c7" in page.blocked.table.value
    assert page.blocked.csv().splitlines()[0] == "Call ID,Started (UTC),Charge" and "1.36" in page.blocked.csv()
    assert "cc-settle-blocked cc-warning" in page.settle_result.value


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("Calls.Export.zip", b"this is not a zip", "Calls.Export.zip is not a zip archive"),
        ("users.csv", b"UserPrincipalName,DisplayName\na@contoso.com,A\n", "no UsageId column"),
        ("page.json", b'{"value": [{"id": "x", "startDateTime": "2025-', "not a complete JSON document"),
        ("notes.txt", b"hello", "Not a call log file: notes.txt"),
    ],
)
def test_a_bad_file_is_explained_in_the_form_and_changes_nothing(ledger, name, content, message):
    page = UsagePage(ledger)
    entries = len(ledger.entries())
    page.upload.value = (upload(name, content),)
    page.import_button.click()
    shown = page.import_status.value
    assert message in shown and "cc-error" in shown
    assert "Traceback" not in shown and page.progress.bar_style != "success"
    assert "commcredits-upload-" not in shown and "/tmp" not in shown  # no temporary path
    assert " Error:" not in shown and "Malformed JSON" not in shown  # no DuckDB message
    sentences = [s.strip() for s in re.sub("<[^>]+>", "", shown).split(". ") if s.strip()]
    assert len(sentences) == len(set(sentences)), sentences  # no sentence said twice
    assert shown.count("reads a Graph getPstnCalls") <= 1
    assert "Done" not in page.phase.value
    assert counts(ledger)[0] == 0 and len(ledger.entries()) == entries  # a refused file is kept in quarantine
    assert not page.import_button.disabled


def test_a_wrong_file_says_what_the_page_expects_and_quarantine_shows_row_numbers_not_raw_json(ledger):
    page = UsagePage(ledger)
    page.upload.value = (upload("users.csv", b"UserPrincipalName,DisplayName\na@contoso.com,A\n"),)
    page.import_button.click()
    assert "Nothing was imported from users.csv" in page.import_status.value
    assert "Teams admin center PSTN usage export" in page.import_status.value
    assert "whole file" in import_shown(page) and "What it said" not in import_shown(page)
    upload_file(page, JSONL)
    assert ">4<" in import_shown(page) and "line 4 is not valid JSON" in import_shown(page)
    assert '{"' not in import_shown(page)  # no raw JSON cut mid-word


def test_nothing_chosen_or_a_missing_path_explains_itself(ledger):
    page = UsagePage(ledger)
    page.import_button.click()
    assert "Choose files to upload" in page.import_status.value
    page.path.value = "/no/such/folder"
    page.import_button.click()
    assert "/no/such/folder does not exist" in page.import_status.value
    assert counts(ledger) == (0, 0)


def test_a_busy_ledger_is_explained_not_raised(ledger, monkeypatch):
    import commcredits.ui.usage as usage

    def busy(*_args, **_kwargs):
        raise cc.LedgerBusy("Another process held the ledger file for too long; nothing was changed, try again.")

    monkeypatch.setattr(usage, "import_pstn_calls", busy)
    monkeypatch.setattr(usage, "rate_and_settle", busy)
    page = UsagePage(ledger)
    upload_file(page, JSONL)
    assert "Could not import calls.jsonl" in page.import_status.value and "try again" in page.import_status.value
    page.settle_button.click()
    assert "Could not settle" in page.settle_status.value and "Nothing was recorded" in page.settle_status.value


def test_shown_names_hide_temp_folders_and_keep_zip_members(ledger):
    with ledger.store.transaction() as con:
        for source in (
            "/tmp/commcredits-upload-x/001/calls.jsonl",
            "/tmp/a/Calls.Export.zip!PSTN.calls.csv",
            "/tmp/b/other.csv",
        ):
            con.execute(
                "INSERT INTO pstn_call_quarantine VALUES (md5($1), $1, 2, 'x', 'bad', now())", [source]
            ).fetchall()
    rows = quarantine_rows(ledger, {"calls.jsonl", "Calls.Export.zip"}).all()
    assert sorted(rows["file"]) == ["Calls.Export.zip › PSTN.calls.csv", "calls.jsonl"]


def test_the_demo_tenant_page_builds_with_spend_tables(demo_db_path):
    page = UsagePage(cc.open_ledger(demo_db_path))
    assert "Top users" in page.spend.value and "By month" in page.spend.value


def _cards(html_text: str, group: str) -> dict[str, int]:
    """label -> number of the cards in one card group of the settlement result."""
    group_html = html_text.split(f'class="cc-cards {group}">', 1)[1].split('class="cc-cards', 1)[0]
    return {
        label: int(value.split()[0].replace(",", ""))
        for label, value in re.findall(r'cc-label">([^<]+)</div><div class="cc-value">([^<]+)<', group_html)
    }


def test_settlement_cards_keep_this_run_apart_from_all_time_and_every_imported_call_lands_in_one(ledger, tmp_path):
    free = tmp_path / "free.jsonl"  # a call Microsoft charged 0.00 for: it must be counted somewhere
    free.write_text(
        '{"id": "33333333-0000-4000-8000-000000000001", "userPrincipalName": "lee.chen@contoso.com", '
        '"startDateTime": "2025-03-20T10:00:00Z", "duration": 60, "charge": 0.0, "currency": "USD", '
        '"callType": "user_out", "licenseCapability": "MCOPSTNPP"}\n'
    )
    page = UsagePage(ledger)
    upload_file(page, JSONL, CSV, free)
    imported = page.last_import.imported
    page.settle_button.click()
    result = page.settle_result.value
    this_run, all_time = _cards(result, "cc-this-settlement"), _cards(result, "cc-all-calls")
    assert this_run["Settled"] == page.last_settlement.settled == 4
    assert "Other operators" not in this_run  # an all-time count is not shown as this run's
    assert all_time["No charge"] == 1 and sum(all_time.values()) == imported == 7
    assert f"Every imported call so far: {imported}" in result
    page.settle_button.click()  # a second run settles nothing; the all-time cards still add up to every call
    again = page.settle_result.value
    assert _cards(again, "cc-this-settlement")["Settled"] == 0 and sum(_cards(again, "cc-all-calls").values()) == 7


def test_before_any_call_is_paid_the_spend_section_is_one_sentence_not_six_empty_tables(ledger):
    page = UsagePage(ledger)
    assert "No call is paid from credits yet" in page.spend.value
    assert "<table" not in page.spend.value and "Nothing yet." not in page.spend.value


def test_the_first_chart_waits_for_the_pages_first_paint_and_later_ones_draw_at_once(demo_db_path):
    """The page template clicks the hidden 'Draw the charts' button once the page is on screen: plotly's drawing
    no longer delays the Import button; after an action the chart draws straight away."""
    page = UsagePage(cc.open_ledger(demo_db_path))
    assert page.chart.outputs == () and page.charts.button.layout.display == "none"
    page.charts.button.click()
    heading, chart = page.chart.outputs
    assert (
        "Credits spent per month" in heading["data"]["text/html"] and "application/vnd.plotly.v1+json" in chart["data"]
    )
    page.chart.outputs = ()
    page.show_spend()  # what an import or a settlement does
    assert len(page.chart.outputs) == 2


def daily_file(tmp_path: Path, day: int, rows: int = 5) -> Path:
    """A day's Graph rows as a JSON lines file, as an admin downloads them."""
    path = tmp_path / f"calls-2025-03-{day:02}.jsonl"
    path.write_text(
        "".join(json.dumps(graph_row(day * 100 + n, charge="0.10")) + "\n" for n in range(rows)), encoding="utf-8"
    )
    return path


def test_daily_files_uploaded_together_import_in_one_transaction_and_the_progress_says_so(ledger, tmp_path):
    files = [daily_file(tmp_path, day) for day in range(1, 6)]
    said = []
    report = run_import(ledger, import_steps(files), lambda done, text: said.append((done, text)))
    assert (report.imported, report.files) == (25, 5)
    assert said == [
        (
            0.0,
            "Files 1–5 of 5: calls-2025-03-01.jsonl … calls-2025-03-05.jsonl — reading the rows, checking them "
            "and skipping known ones, writing the new ones (one transaction)…",
        )
    ]
    page = UsagePage(ledger)
    upload_file(page, *files)  # again, through the page: every row known
    assert (page.last_import.imported, page.last_import.duplicates) == (0, 25)
    assert page.progress.bar_style == "success" and "Done: 5 files" in page.phase.value


def test_a_transaction_of_several_files_that_fails_names_them_all_and_keeps_the_files_before(
    ledger, tmp_path, monkeypatch
):
    big = daily_file(tmp_path, 1, rows=5)
    small = [daily_file(tmp_path, day) for day in (2, 3)]
    monkeypatch.setattr(call_files, "BATCH_BYTES", big.stat().st_size * 2 + 10)  # day 1 and 2 together, then 3
    real = call_import.import_json_lines

    def third_day_fails(con, files, labels):
        if any("03-03" in f.name for f in files):
            raise OSError("No space left on device")
        return real(con, files, labels)

    monkeypatch.setattr(call_import, "import_json_lines", third_day_fails)
    page = UsagePage(ledger)
    upload_file(page, big, *small)
    shown = re.sub("<[^>]+>", "", page.import_status.value)
    assert "Could not import calls-2025-03-03.jsonl" in shown and "Nothing from this file was imported" in shown
    assert "The 2 files before it imported (10 new rows)" in shown
    assert counts(ledger)[0] == 10

    monkeypatch.setattr(call_files, "BATCH_BYTES", 64 << 20)  # all three in one transaction: all three named
    later = [daily_file(tmp_path, day) for day in (3, 4)]
    upload_file(page, *later)
    shown = re.sub("<[^>]+>", "", page.import_status.value)
    assert "Could not import calls-2025-03-03.jsonl, calls-2025-03-04.jsonl" in shown
    assert "Nothing from these files was imported" in shown and counts(ledger)[0] == 10
