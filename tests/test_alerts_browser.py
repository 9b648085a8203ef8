"""Overview shows the alerts strip, and the Alerts page loads, in real Chromium against a running Voila."""

import pytest
from axe_playwright_python.sync_playwright import Axe

pytestmark = pytest.mark.browser


def test_overview_shows_the_alerts_strip_above_the_cards(page, served, artifacts):
    page.goto(f"{served.base}/voila/render/00_overview.ipynb", wait_until="commit")
    strip = page.locator(".cc-alerts")
    strip.wait_for(state="visible", timeout=60_000)
    readiness = strip.locator('.cc-alert[data-check="readiness"]')
    assert "users cannot dial out" in readiness.inner_text()  # the Overview's own figure (issue 20)
    assert readiness.get_by_role("link", name="Step 1 · Licenses →").get_attribute("href") == "01_licenses.ipynb"
    # the balance cards come first (issue 21: on a phone the alerts pushed the balance off the first screen), then
    # the strip, above the rest of the page
    cards = page.locator(".cc-card")
    last_card = max(cards.nth(i).bounding_box()["y"] for i in range(cards.count()))
    assert (
        last_card
        < strip.bounding_box()["y"]
        < page.get_by_role("heading", name="Calls that need your attention").bounding_box()["y"]
    )
    assert page.get_by_role("link", name="Alerts").is_visible()
    assert "Traceback" not in page.content()
    page.screenshot(
        path=str(artifacts / "00-overview-alerts-strip.png"), clip={"x": 0, "y": 0, "width": 1280, "height": 700}
    )


def test_the_alerts_page_shows_settings_and_history(page, served, artifacts):
    page.goto(f"{served.base}/voila/render/05_alerts.ipynb", wait_until="commit")
    page.get_by_role("button", name="Send a test message").wait_for(state="visible", timeout=60_000)
    assert page.locator(".cc-alerts .cc-alert").count() >= 1
    assert page.locator(".cc-teams-webhook-url input").get_attribute("type") == "password"
    page.locator(".cc-alert-history").wait_for(state="visible", timeout=30_000)  # the whole page is drawn
    violations = Axe().run(page).response["violations"]
    assert [
        (v["id"], [n["target"] for n in v["nodes"]]) for v in violations if v["impact"] in ("serious", "critical")
    ] == []
    assert "heading-order" not in {v["id"] for v in violations}
    page.get_by_role("button", name="Send a test message").click()
    page.get_by_text("No channel is set up").wait_for(timeout=30_000)
    assert "Traceback" not in page.content()
    page.screenshot(path=str(artifacts / "05-alerts.png"), full_page=True)
