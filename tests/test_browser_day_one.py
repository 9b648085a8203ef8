"""Day one on one's own ledger, in Chromium at 1440 and 390 px: an EMPTY ledger -> setup -> the tenant from the
admin centers' files -> readiness -> a purchase made in the Microsoft 365 admin center, recorded on Step 2 ->
its balance on the Overview -> Step 3 plan -> export. No demo data appears on any page."""

import csv
import io

import pytest
from funding_page import fill_purchase, record, review
from playwright.sync_api import expect
from tenant_exports import SEATS, active_users_csv, phone_numbers_csv, subscribed_skus_json

pytestmark = pytest.mark.browser

LOAD = 90_000
KERNEL = 30_000
DEMO_WORDS = ("Contoso", "Demo tenant", "CONTOSO-PO")  # the demo's organisation, banner and purchase orders


def open_page(page, base, name, ready):
    page.goto(f"{base}/voila/render/{name}", wait_until="commit")
    page.locator("#loading").wait_for(state="detached", timeout=LOAD)
    ready.wait_for(state="visible", timeout=LOAD)


def shoot(page, path) -> None:
    """The whole page: Voila scrolls inside its own container, so the window grows first."""
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": 3200})
    page.wait_for_timeout(300)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)


def no_demo_data(page) -> None:
    expect(page.locator(".cc-demo-banner")).to_have_count(0)
    text = page.locator("body").inner_text()
    for word in DEMO_WORDS:
        assert word not in text, f"{word!r} on a page of the admin's own ledger"


def export_files(folder):
    files = {
        "users_2026_12_03.csv": active_users_csv(),
        "subscribedSkus.json": subscribed_skus_json(SEATS),
        "PhoneNumbers.csv": phone_numbers_csv(
            [("+1 425 555 0100", "Ben Berg", "User (subscriber)"), ("+1 800 555 0100", "", "Toll-free")]
        ),
    }
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return [str(folder / name) for name in files]


@pytest.mark.parametrize("width", [1440, 390])
def test_first_day_from_an_empty_ledger(page, dashboard_server, artifacts, tmp_path, width):
    dashboard_server.serve(None)  # no file at all: the admin's own, new ledger
    base = dashboard_server.base
    page.set_viewport_size({"width": width, "height": 1400})
    shots = artifacts / f"day-one-{width}"
    shots.mkdir(exist_ok=True)

    # Overview of an empty ledger: the setup, nothing else
    open_page(page, base, "00_overview.ipynb", page.locator(".cc-setup-organisation input"))
    expect(page.locator(".cc-setup-intro")).to_contain_text("This ledger is empty")
    no_demo_data(page)
    shoot(page, shots / "1-setup.png")
    page.locator(".cc-setup-organisation input").fill("Fabrikam Ltd")
    page.locator(".cc-setup-currency select").select_option(label="Euro (EUR)")
    page.locator(".cc-setup-agreement").get_by_text("Directly from Microsoft").click()
    page.locator(".cc-setup-time-zone select").select_option(label="Europe/Berlin")
    page.get_by_role("button", name="Save and start").click()
    expect(page.locator(".cc-setup-saved")).to_contain_text("Saved: Fabrikam Ltd, EUR", timeout=KERNEL)
    expect(page.locator(".cc-balance")).to_contain_text("€", timeout=KERNEL)
    # nothing to draw yet: each chart says why instead of showing bare axes
    empty_charts = page.locator(".cc-charts .cc-chart-empty")
    expect(empty_charts).to_have_count(2, timeout=KERNEL)
    expect(empty_charts.first).to_contain_text("No purchases or calls yet")
    expect(page.locator(".cc-charts .js-plotly-plot")).to_have_count(0)
    no_demo_data(page)
    shoot(page, shots / "2-overview-after-setup.png")

    # Step 1: the tenant from files
    page.locator(".cc-nav").get_by_role("link", name="Step 1 · Licenses").click()
    page.locator(".cc-tenant-upload").wait_for(state="visible", timeout=LOAD)
    expect(page.locator(".cc-readiness")).to_contain_text("0", timeout=KERNEL)
    with page.expect_file_chooser() as chooser:  # the admin's own file dialog
        page.locator(".cc-tenant-upload").click()
    chooser.value.set_files(export_files(tmp_path))
    expect(page.locator(".cc-tenant-file")).to_have_count(3, timeout=KERNEL)
    expect(page.locator(".cc-tenant-preview")).to_contain_text("Active users export (Microsoft 365 admin center)")
    shoot(page, shots / "3-files-preview.png")
    page.get_by_role("button", name="Import 3 files").click()
    expect(page.locator(".cc-tenant-imported")).to_contain_text("5 users", timeout=KERNEL)

    # readiness, from what was imported
    expect(page.locator(".cc-users-count")).to_contain_text("5", timeout=KERNEL)
    expect(page.locator(".cc-readiness-sentence")).to_contain_text("cannot dial out")
    expect(page.locator(".cc-chosen")).to_contain_text("5 of 5 shown")
    no_demo_data(page)
    shoot(page, shots / "4-step1-imported.png")

    # Step 2: the admin bought credits in the Microsoft 365 admin center and records that purchase here
    page.locator(".cc-nav").get_by_role("link", name="Step 2 · Fund").click()
    page.locator(".cc-amount input").wait_for(state="visible", timeout=LOAD)
    expect(page.locator(".cc-guide")).to_contain_text("Buy in Microsoft 365, then record it here")
    fill_purchase(page, "250.00", "MS-ORDER-4711")
    review(page)
    expect(page.locator(".cc-review")).to_contain_text("€250.00")
    shoot(page, shots / "5-step2-review.png")
    record(page)
    expect(page.locator(".cc-status .cc-success")).to_contain_text("Purchase recorded", timeout=KERNEL)
    expect(page.locator(".cc-status")).to_contain_text("MS-ORDER-4711")
    no_demo_data(page)
    shoot(page, shots / "6-step2-recorded.png")

    # the Overview: the recorded purchase is the balance, and the charts draw it
    page.locator(".cc-nav").get_by_role("link", name="Overview").click()
    balance = page.locator(".cc-card.cc-balance")
    balance.wait_for(state="visible", timeout=LOAD)
    expect(balance).to_have_attribute("data-amount", "250.00")
    expect(balance).to_contain_text("€250.00")
    expect(page.locator(".cc-charts .js-plotly-plot")).to_have_count(2, timeout=KERNEL)
    no_demo_data(page)
    shoot(page, shots / "7-overview-funded.png")

    # Step 3: everyone with a calling license gets Communication Credits; the plan and its exports
    page.locator(".cc-nav").get_by_role("link", name="Step 3 · Credit licenses").click()
    page.locator(".cc-plan-button").wait_for(state="visible", timeout=LOAD)
    expect(page.locator(".cc-funding-notice")).to_contain_text("A purchase is recorded in Step 2")
    page.get_by_role("button", name="Plan changes").click()
    plan = page.locator(".cc-plan")
    expect(plan).to_contain_text("Communication Credits", timeout=KERNEL)
    link = page.locator("a.cc-download-csv")
    expect(link).to_be_visible(timeout=KERNEL)
    with page.expect_download() as download:
        link.click()
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text(encoding="utf-8-sig"))))
    assert rows and all("fabrikam.com" in " ".join(r.values()) for r in rows)
    no_demo_data(page)
    shoot(page, shots / "8-step3-plan.png")
