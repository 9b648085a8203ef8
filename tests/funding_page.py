"""Driving the Step 2 page in a real browser (shared by the browser tests)."""

from playwright.sync_api import expect

CLICK = 30_000


def open_funding(page, base: str) -> None:
    page.goto(f"{base}/voila/render/02_funding.ipynb", wait_until="commit")
    page.locator(".cc-amount input").wait_for(state="visible", timeout=60_000)


def type_into(page, css_class: str, value: str) -> None:
    field = page.locator(f".{css_class} input")
    field.fill(value)
    field.press("Tab")  # ipywidgets Text syncs on blur/enter as well as on input


def fill_purchase(page, amount: str, number: str) -> None:
    """Type what Microsoft's order confirmation says: its number and the amount (billing details are optional)."""
    type_into(page, "cc-microsoft-number", number)
    type_into(page, "cc-amount", amount)


def review(page) -> None:
    page.get_by_role("button", name="Review the record").click()
    page.locator(".cc-review").wait_for(state="visible", timeout=CLICK)


def record(page) -> None:
    """Tick "These match Microsoft's order or invoice" on the review, then record."""
    box = page.locator(".cc-review-checked input")
    box.check()
    expect(box).to_be_checked()
    page.get_by_role("button", name="Record this purchase").click()
