"""Long lists in real Chromium: the admin pages through them and downloads them whole; Alerts fits a phone.

What an admin notices: Next shows "Calls 51–100 of N" and other rows; the CSV the browser saves has every row
and a cell that Excel would run (a file named "=HYPERLINK(…)") is text; at 390 px Save settings is whole and the
Teams checkbox's label sits beside its box. Screenshots go to artifacts/pages/ (looked at by a person)."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from test_browser_pages import LAYOUT_PROBLEMS, serious_accessibility_problems

import commcredits as cc
from commcredits.usage.lists import attention_rows

pytestmark = pytest.mark.browser

LOAD = 180_000
KERNEL = 60_000


@pytest.fixture
def server(served):
    """The shared dashboard (tests/conftest.py) on a fresh copy of the demo: (its base URL, the ledger it serves)."""
    return served.base, served.db


@pytest.fixture(scope="module")
def shots(artifacts) -> Path:
    folder = artifacts / "pages"
    folder.mkdir(exist_ok=True)
    return folder


def open_page(page, base, name, ready):
    page.goto(f"{base}/voila/render/{name}", wait_until="commit")
    page.locator("#loading").wait_for(state="detached", timeout=LOAD)
    ready.wait_for(state="visible", timeout=LOAD)


def shoot(page, element, path) -> None:
    """A screenshot of `element` whole: Voila scrolls inside its own container, so the window grows first."""
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": 3000})
    page.wait_for_timeout(300)
    element.screenshot(path=str(path))
    page.set_viewport_size(size)


def save_csv(page, long_list) -> list[dict]:
    """Ask for the CSV, then save it through the link as a browser does, and read it as a spreadsheet would."""
    long_list.locator(".cc-download-all").click()
    link = long_list.locator("a.cc-download-csv")
    expect(link).to_be_visible(timeout=KERNEL)
    with page.expect_download() as download:
        link.click()
    with open(download.value.path(), newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def test_usage_pages_through_calls_and_quarantine_and_downloads_them_whole(page, server, shots, tmp_path):
    base, db = server
    total = attention_rows(cc.open_ledger(db)).count()
    assert total > 50
    page.set_viewport_size({"width": 1440, "height": 1000})
    calls = page.locator(".cc-attention-list")
    open_page(page, base, "04_usage.ipynb", calls)
    expect(calls.locator(".cc-position")).to_have_text(f"Calls 1–50 of {total:,}", timeout=KERNEL)
    first_page = calls.locator("tbody").inner_text()
    calls.get_by_role("button", name="Next").click()
    expect(calls.locator(".cc-position")).to_have_text(f"Calls 51–{min(100, total)} of {total:,}", timeout=KERNEL)
    assert calls.locator("tbody tr").count() == min(50, total - 50)
    assert calls.locator("tbody").inner_text() != first_page
    rows = save_csv(page, calls)
    assert len(rows) == total and "Call ID" in rows[0]
    shoot(page, calls, shots / "04_usage-attention-page2-1440.png")

    # a call log of 123 unreadable rows, in a file whose name Excel would run as a formula
    bad = tmp_path / "=HYPERLINK(x).jsonl"
    bad.write_text(
        "\n".join(
            json.dumps(
                {
                    "id": f"bad-{n}",
                    "startDateTime": "2025-03-07T11:00:00Z",
                    "duration": -1 - n,
                    "charge": 0.25,
                    "currency": "USD",
                }
            )
            for n in range(123)
        )
        + "\n"
    )
    with page.expect_file_chooser() as chooser:
        page.locator(".cc-upload").click()
    chooser.value.set_files(str(bad))
    page.locator(".cc-upload", has_text="(1)").wait_for(timeout=KERNEL)
    page.get_by_role("button", name="Import").click()
    expect(page.locator(".cc-quarantine-reasons")).to_contain_text("negative duration", timeout=KERNEL)
    quarantine = page.locator(".cc-quarantine-list")
    expect(quarantine.locator(".cc-position")).to_have_text("Rows 1–50 of 123", timeout=KERNEL)
    quarantine.get_by_role("button", name="Next").click()
    expect(quarantine.locator(".cc-position")).to_have_text("Rows 51–100 of 123", timeout=KERNEL)
    assert quarantine.locator("tbody tr").first.locator("td").nth(1).inner_text() == "51"
    rows = save_csv(page, quarantine)
    assert len(rows) == 123 and {r["File"] for r in rows} == {"'=HYPERLINK(x).jsonl"}
    assert serious_accessibility_problems(page) == []
    for width in (1024, 390):
        page.set_viewport_size({"width": width, "height": 1000})
        page.wait_for_timeout(400)
        assert page.evaluate(LAYOUT_PROBLEMS) == [], f"Usage at {width} px"
        shoot(page, quarantine, shots / f"04_usage-quarantine-page2-{width}.png")
    assert serious_accessibility_problems(page) == []
    assert "Traceback" not in page.content()


def test_step3_lists_every_user_left_out_below_the_plan(page, server, shots):
    base, _ = server
    page.set_viewport_size({"width": 1440, "height": 1000})
    open_page(page, base, "03_credit_licenses.ipynb", page.get_by_role("button", name="Plan changes"))
    page.get_by_role("button", name="Plan changes").click()
    apply = page.get_by_role("button", name="Record as done")
    expect(apply).to_be_focused(timeout=KERNEL)  # the action stays where the eye is, above the lists
    left_out = page.locator(".cc-left-out-list")
    position = left_out.locator(".cc-position")
    expect(position).to_have_text(re.compile(r"Users 1–50 of [\d,]+"), timeout=KERNEL)
    total = int(position.inner_text().rsplit(" ", 1)[1].replace(",", ""))
    assert apply.bounding_box()["y"] < left_out.bounding_box()["y"]
    left_out.get_by_role("button", name="Next").click()
    expect(position).to_have_text(f"Users 51–{min(100, total)} of {total:,}", timeout=KERNEL)
    rows = save_csv(page, left_out)
    assert len(rows) == total and list(rows[0]) == ["Display name", "Username", "Why left out (what is missing)"]
    for width in (1440, 1024, 390):
        page.set_viewport_size({"width": width, "height": 1000})
        page.wait_for_timeout(400)
        assert page.evaluate(LAYOUT_PROBLEMS) == [], f"Step 3 at {width} px"
        shoot(page, left_out, shots / f"03_credit_licenses-left-out-{width}.png")
    assert serious_accessibility_problems(page) == []


def test_alerts_settings_fit_a_phone(page, server, shots):
    base, _ = server
    page.set_viewport_size({"width": 390, "height": 900})
    save = page.get_by_role("button", name="Save settings")
    open_page(page, base, "05_alerts.ipynb", save)
    assert page.evaluate(LAYOUT_PROBLEMS) == []
    box = save.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert save.evaluate("b => b.scrollWidth <= b.clientWidth")  # "Save settings", not "Save set…"
    teams = page.locator(".cc-teams-enabled")
    field = page.locator(".cc-teams-webhook-url input")
    assert abs(teams.bounding_box()["x"] - field.bounding_box()["x"]) < 8  # no 248 px indent on a phone
    # the label's second line starts beside the box, not under it
    checkbox, label = teams.locator("input"), teams.locator("span").first
    assert label.bounding_box()["x"] > checkbox.bounding_box()["x"] + checkbox.bounding_box()["width"] - 1
    assert label.bounding_box()["height"] > 40 and checkbox.bounding_box()["y"] < label.bounding_box()["y"] + 16
    shoot(page, page.locator(".cc-alerts-page"), shots / "05_alerts-settings-390.png")
    save.click()
    expect(page.locator(".cc-status .cc-success")).to_contain_text("Settings saved", timeout=KERNEL)
    assert serious_accessibility_problems(page) == []
