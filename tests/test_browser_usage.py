"""Usage page in real Chromium: upload a call log, import it with a progress bar, see counts and reasons."""

import json
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect
from test_call_charges import graph_row

import commcredits as cc

pytestmark = pytest.mark.browser

JSONL = Path(__file__).parent / "fixtures" / "calls" / "calls.jsonl"


def test_upload_import_and_settle(page, served, artifacts):
    store = cc.open_ledger(served.db).store
    (calls_before,) = store.query("SELECT count(*) FROM pstn_call")[0]
    started = time.monotonic()
    page.goto(f"{served.base}/voila/render/04_usage.ipynb", wait_until="commit")  # the form is what counts
    page.get_by_role("button", name="Import").wait_for(state="visible", timeout=60_000)
    usable = time.monotonic() - started
    # ipywidgets 8 keeps its <input type=file> outside the DOM and clicks it from the button: take the
    # file chooser that click opens (Playwright sets the input's files through it)
    with page.expect_file_chooser() as chooser:
        page.locator(".cc-upload").click()
    chooser.value.set_files(str(JSONL))
    page.locator(".cc-upload", has_text="(1)").wait_for(timeout=10_000)  # the upload reached the kernel
    page.get_by_role("button", name="Import").click()
    imported = page.locator(".cc-imported .cc-value")
    imported.wait_for(state="visible", timeout=30_000)
    expect(imported).to_have_text("3", timeout=10_000)
    expect(page.locator(".cc-quarantined .cc-value")).to_have_text("2", timeout=10_000)
    expect(page.locator(".cc-quarantine")).to_contain_text("negative duration: -5", timeout=10_000)
    expect(page.locator(".cc-progress .progress-bar")).to_have_attribute("style", re.compile("100%"), timeout=10_000)
    expect(page.locator(".cc-phase").first).to_contain_text("Done: 1 file", timeout=10_000)

    page.get_by_role("button", name="Settle charged calls").click()
    settled = page.locator(".cc-settle-settled .cc-value")
    settled.wait_for(state="visible", timeout=30_000)
    page.locator(".cc-spend-chart .js-plotly-plot").first.wait_for(state="visible", timeout=30_000)
    # the chart is redrawn after settling: the fixture's March 2025 calls get their own bar
    expect(page.locator(".cc-spend-chart .xtick").first).to_have_text("March 2025", timeout=30_000)
    assert "Traceback" not in page.content()
    page.set_viewport_size({"width": 1280, "height": 2600})  # Voila scrolls inside a container
    page.screenshot(path=str(artifacts / "04-usage.png"), full_page=True)
    (calls_after,) = store.query("SELECT count(*) FROM pstn_call")[0]
    assert calls_after == calls_before + 3
    (artifacts / "04-usage-timing.txt").write_text(
        f"Import button usable {usable:.2f} s after navigation (Voila kernel start + page build)\n"
    )


def test_enter_right_after_typing_acts_on_the_whole_new_value(page, served):
    """ipywidgets holds back keystrokes while the kernel is busy but sends Enter at once: the import must still
    see every character typed before Enter."""
    page.goto(f"{served.base}/voila/render/04_usage.ipynb", wait_until="commit")  # the form is what counts
    field = page.locator(".cc-path input")
    field.wait_for(state="visible", timeout=60_000)
    for attempt in range(3):
        target = f"/nonexistent/exports-{attempt}/PSTN-usage-folder"
        field.fill("")
        field.click()
        page.keyboard.type(target)  # no delay between keys, then Enter at once
        page.keyboard.press("Enter")
        expect(page.locator(".cc-import-status .cc-error")).to_contain_text(
            f"{target} does not exist on the server", timeout=30_000
        )


def test_daily_files_uploaded_at_once_import_together(page, served, artifacts, tmp_path):
    """An admin picks a week of daily exports in the file chooser: they import in one run (one transaction for
    small files) and the page says how many files it read; the form stays readable on a phone."""
    days = []
    for day in range(1, 8):
        path = tmp_path / f"calls-2025-04-{day:02}.jsonl"
        rows = [graph_row(40_000 + day * 100 + n, charge="0.05") for n in range(4)]  # early 2026
        path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
        days.append(str(path))
    store = cc.open_ledger(served.db).store
    (calls_before,) = store.query("SELECT count(*) FROM pstn_call")[0]
    page.goto(f"{served.base}/voila/render/04_usage.ipynb", wait_until="commit")
    page.get_by_role("button", name="Import").wait_for(state="visible", timeout=60_000)
    with page.expect_file_chooser() as chooser:
        page.locator(".cc-upload").click()
    chooser.value.set_files(days)
    page.locator(".cc-upload", has_text="(7)").wait_for(timeout=10_000)
    page.get_by_role("button", name="Import").click()
    expect(page.locator(".cc-phase").first).to_contain_text("Done: 7 files", timeout=30_000)
    expect(page.locator(".cc-imported .cc-value")).to_have_text("28", timeout=10_000)
    assert "Traceback" not in page.content()
    (calls_after,) = store.query("SELECT count(*) FROM pstn_call")[0]
    assert calls_after == calls_before + 28
    page.set_viewport_size({"width": 1280, "height": 1400})
    page.locator(".cc-phase").first.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "04-usage-daily-files-wide.png"))
    page.set_viewport_size({"width": 390, "height": 1400})
    page.locator(".cc-phase").first.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "04-usage-daily-files-390.png"))
    bar = page.locator(".cc-progress .progress").bounding_box()  # drawn on a phone: it was 0 px high there
    assert bar["height"] >= 10 and bar["x"] >= 0 and bar["x"] + bar["width"] <= 390, bar


# Each row of a table as [number of distinct cell tops, right edge of its last cell]: one top means one line a row
ROW_LINES = """table => [...table.querySelectorAll('tbody tr')].map(tr => {
  const cells = [...tr.children].map(td => td.getBoundingClientRect());
  return [new Set(cells.map(r => Math.round(r.top))).size, Math.round(cells[cells.length - 1].right)];
})"""


def test_spend_tables_on_a_phone_read_one_row_per_line(page, served, artifacts):
    """At 390 px the spend by user, destination and month stay tables: a user's calls, minutes and spend beside
    their name on one line (not four lines of "User / Calls / Minutes / Spent" per user), the amounts on screen."""
    page.set_viewport_size({"width": 390, "height": 900})
    page.goto(f"{served.base}/voila/render/04_usage.ipynb", wait_until="commit")
    users = page.locator("table.cc-spend-users")
    users.wait_for(state="visible", timeout=60_000)
    for name in ("users", "destinations", "months"):
        rows = page.locator(f"table.cc-spend-{name}").evaluate(ROW_LINES)
        assert rows, name
        assert all(tops == 1 and right <= 390 for tops, right in rows), (name, rows)
    expect(users.locator("thead th").first).to_be_visible()  # the column names stay on top, once
    users.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "04-usage-spend-390.png"))
