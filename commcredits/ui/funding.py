"""Step 2 form: buy in Microsoft 365, then record the purchase here (amount, Microsoft's number, date,
auto-recharge as set in the admin center), review it, confirm it.

The form only collects text and shows results; validation and recording are `commcredits.credits.funding`.
Money safety: the review is on screen before anything is kept; keyboard focus lands on a "these match" box that
Enter does not tick, so a second Enter after the review opens records nothing; the "Yes, I mean these amounts"
box resets after each record and whenever an amount changes; the PO number starts empty for each purchase.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime

import ipywidgets as widgets

from ..countries import country_names
from ..credits.billing import CARD_BRANDS, BillingDetails, current_billing
from ..credits.funding import SUGGESTED_FIRST_AMOUNT, PurchaseRequest, PurchaseReview, record_purchase, review_purchase
from ..credits.ledger import Agreement, Ledger
from ..errors import CommCreditsError, Problem
from . import format as fmt
from .funding_guide import buy_guide_html
from .funding_review import balance_html, recorded_message, review_html
from .kit import html_part, tagged

LABEL_WIDTH = {"description_width": "190px"}
FIELD_WIDTH = "520px"
INPUT_OFFSET = "198px"  # where inputs start: the label column plus its gap
AMOUNT_FIELDS = ("amount", "recharge_amount", "recharge_below")
BILLING_FIELDS = (
    "company",
    "address",
    "city",
    "postal_code",
    "country",
    "tax_id",
    "po_number",
    "invoice_email",
    "payment_method",
    "card_brand",
    "card_last4",
)
STYLE = """<style>
.cc-funding .cc-guide ol { margin: 4px 0 8px 18px; padding: 0; }
.cc-funding .cc-guide li { margin: 2px 0; }
.cc-funding a { color: #0f548c; text-decoration: underline; }
.cc-funding .cc-review-warning { border-left: 4px solid #8a6d00; background: #fff8e1; padding: 6px 10px; margin: 6px 0; }
</style>"""


def _text(description: str, css: str, placeholder: str = "", value: str = "") -> widgets.Text:
    return tagged(
        widgets.Text(
            description=description,
            placeholder=placeholder,
            value=value,
            style=LABEL_WIDTH,
            layout=widgets.Layout(width=FIELD_WIDTH, max_width="100%"),
        ),
        css,
    )


def _checkbox(description: str, css: str, value: bool = False) -> widgets.Checkbox:
    return tagged(
        widgets.Checkbox(
            description=description,
            value=value,
            indent=False,
            layout=widgets.Layout(margin=f"4px 0 4px {INPUT_OFFSET}", width="auto"),
        ),
        css,
    )


class FundingForm:
    """The Step 2 form. `widget` is what the notebook displays."""

    def __init__(self, ledger: Ledger, *, locale: str | None = None, today=lambda: datetime.now(UTC).date()):
        self.ledger, self.today = ledger, today
        self.locale = locale or fmt.display_locale()
        self.review: PurchaseReview | None = None
        self.agreement = ledger.agreement
        self.fields = self._fields()
        self.errors = {
            name: tagged(
                widgets.HTML(layout=widgets.Layout(margin=f"0 0 0 {INPUT_OFFSET}")),
                f"cc-error-{name.replace('_', '-')}",
            )
            for name in self.fields
        }
        self._review_widgets()
        self._wire()
        self.balance_line = html_part("cc-balance-line", value=self._balance_html())
        self.editor = widgets.VBox(self._layout())
        # status and review sit above the long editor so the outcome of a click is always in view
        self.widget = tagged(
            widgets.VBox(
                [
                    widgets.HTML(fmt.STYLE + STYLE),
                    widgets.HTML(buy_guide_html(self.agreement)),
                    self.status,
                    self.review_box,
                    self.editor,
                ]
            ),
            "cc-funding",
        )
        if self.agreement is Agreement.MCA:  # nothing to record: the guide says why, no disabled form below it
            self.editor.layout.display = "none"
        self._sync_visibility()

    def _review_widgets(self) -> None:
        """The Review button under the editor, and the review box that replaces the editor (hidden at first)."""
        self.review_button = tagged(
            widgets.Button(
                description="Review the record",
                button_style="primary",
                icon="check",
                layout=widgets.Layout(margin=f"12px 0 0 {INPUT_OFFSET}", width="170px"),
            ),
            "cc-review-button",
        )
        self.record_button = tagged(
            widgets.Button(
                description="Record this purchase",
                button_style="success",
                icon="book",
                layout=widgets.Layout(width="auto"),
            ),
            "cc-record",
        )
        self.edit_button = widgets.Button(description="Back to edit", icon="pencil")
        self.checked = tagged(
            widgets.Checkbox(
                description="These match Microsoft's order or invoice",
                value=False,
                indent=False,
                layout=widgets.Layout(width="auto"),
            ),
            "cc-review-checked",
        )
        self.status = html_part("cc-status")
        self.summary = html_part("cc-review")
        self.review_box = widgets.VBox(
            [self.summary, self.checked, widgets.HBox([self.record_button, self.edit_button])]
        )
        self.review_box.layout.display = "none"

    def _wire(self) -> None:
        self.review_button.on_click(self._on_review)
        fmt.submit_on_enter([f for f in self.fields.values() if isinstance(f, widgets.Text)], self.review_button)
        self.record_button.on_click(self._on_record)
        self.edit_button.on_click(self._on_edit)
        for name in ("payment_method", "auto_recharge"):
            self.fields[name].observe(self._sync_visibility, names="value")
        for name in AMOUNT_FIELDS:  # a confirmation given for one amount never carries over to another
            self.fields[name].observe(self._reset_confirmation, names="value")

    # ---- fields and layout ----

    def _fields(self) -> dict[str, widgets.Widget]:
        fields = {**self._purchase_fields(), **self._billing_fields()}
        fields["confirm"].layout.display = "none"
        if self.agreement is Agreement.MCA:
            for name in ("microsoft_number", "amount", "purchased_on", "auto_recharge"):
                fields[name].disabled = True
        return fields

    def _purchase_fields(self) -> dict[str, widgets.Widget]:
        """Microsoft's number, amount, date, auto-recharge as set in the admin center, the large-amount box."""
        auto, currency = self.ledger.auto_recharge, self.ledger.currency
        hint = fmt.money(SUGGESTED_FIRST_AMOUNT, currency, self.locale)
        partner = self.agreement is Agreement.CSP
        return {
            "microsoft_number": _text(
                "Partner's order or invoice no." if partner else "Microsoft order or invoice no.",
                "cc-microsoft-number",
                "as on the confirmation or invoice",
            ),
            "amount": _text(f"Amount bought ({currency})", "cc-amount", f"e.g. {hint}"),
            "purchased_on": tagged(
                widgets.DatePicker(
                    description="Purchase date",
                    value=self.today(),
                    style=LABEL_WIDTH,
                    layout=widgets.Layout(width="380px", max_width="100%"),
                ),
                "cc-purchased-on",
            ),
            "auto_recharge": _checkbox("Auto-recharge is on in the admin center", "cc-auto-recharge", auto.enabled),
            "recharge_amount": _text(
                "Add this amount", "cc-recharge-amount", "e.g. 500.00", "" if auto.amount is None else str(auto.amount)
            ),
            "recharge_below": _text(
                "When balance is below",
                "cc-recharge-below",
                "e.g. 100.00",
                "" if auto.below is None else str(auto.below),
            ),
            # shown only when the review asks for it: an unusually large amount, or very frequent recharges
            "confirm": _checkbox("Yes, I mean these amounts", "cc-confirm"),
        }

    def _billing_fields(self) -> dict[str, widgets.Widget]:
        """The billing details as on Microsoft's invoice, filled with the ones kept last (never the PO number)."""
        billing = current_billing(self.ledger) or BillingDetails()
        return {
            "company": _text("Company name", "cc-company", value=billing.company),
            "address": _text("Address", "cc-address", value=billing.address),
            "city": _text("City", "cc-city", value=billing.city),
            "postal_code": _text("Postal code", "cc-postal-code", value=billing.postal_code),
            "country": tagged(
                widgets.Dropdown(
                    description="Country",
                    options=[("Choose…", "")] + [(n, c) for c, n in country_names().items()],
                    value=billing.country or "",
                    style=LABEL_WIDTH,
                    layout=widgets.Layout(width=FIELD_WIDTH, max_width="100%"),
                ),
                "cc-country",
            ),
            "tax_id": _text("Tax ID (optional)", "cc-tax-id", value=billing.tax_id),
            "po_number": _text("PO number (optional)", "cc-po-number"),  # one purchase's PO: never carried over
            "invoice_email": _text("Invoice e-mail", "cc-invoice-email", "ap@contoso.com", billing.invoice_email),
            "payment_method": widgets.ToggleButtons(
                options=[("Invoice", "invoice"), ("Card", "card")],
                value=billing.payment_method or "invoice",
                style={"button_width": "120px"},
            ),
            "card_brand": widgets.Dropdown(
                description="Card brand",
                options=[("—", "")] + [(b, b) for b in CARD_BRANDS[1:]],
                value=billing.card_brand,
                style=LABEL_WIDTH,
                layout=widgets.Layout(width=FIELD_WIDTH, max_width="100%"),
            ),
            "card_last4": _text("Card: last 4 digits", "cc-card-last4", "1234", billing.card_last4),
        }

    def _row(self, name: str) -> widgets.VBox:
        field = self.fields[name]
        if name == "payment_method":  # toggle buttons have no label column of their own
            label = widgets.HTML(
                '<div style="text-align:right">Paid by</div>',
                layout=widgets.Layout(width=LABEL_WIDTH["description_width"], margin="0 8px 0 0"),
            )
            field = widgets.HBox([label, field], layout=widgets.Layout(align_items="center", flex_flow="row wrap"))
        return widgets.VBox([field, self.errors[name]])

    def _layout(self) -> list[widgets.Widget]:
        partner = self.agreement is Agreement.CSP
        billing = widgets.VBox(
            [
                widgets.HTML(
                    '<div class="cc-hint">Optional: keep them to match Microsoft\'s invoices in your records '
                    "(fill all or none). Only the last four card digits are kept.</div>"
                ),
                *(self._row(n) for n in BILLING_FIELDS),
            ]
        )
        folded = widgets.Accordion(children=[billing], selected_index=None)
        folded.set_title(0, "Billing details as on Microsoft's invoice (optional)")
        folded.add_class("cc-billing-details")
        return [
            widgets.HTML(
                '<h3 class="cc-section">2. Record the purchase</h3><div class="cc-hint">'
                + ("What your partner bought for you, " if partner else "What you bought in Microsoft 365, ")
                + "as on the order confirmation or invoice. Both the number and the amount are needed."
                "</div>"
            ),
            self.balance_line,
            *(self._row(n) for n in ("microsoft_number", "amount", "purchased_on")),
            widgets.HTML(
                '<div class="cc-hint" style="margin-left:198px">Today by default; an earlier purchase '
                "within the last 12 months can be recorded too (credits expire 12 months after purchase)."
                "</div>"
            ),
            widgets.HTML(
                '<h3 class="cc-section">3. Auto-recharge, as set in the admin center</h3><div class="cc-hint">'
                "Copy what Billing › Your products › Communication Credits shows, so runway and alerts "
                "expect Microsoft's recharges. This does not change anything in Microsoft 365.</div>"
            ),
            *(self._row(n) for n in ("auto_recharge", "recharge_amount", "recharge_below", "confirm")),
            folded,
            self.review_button,
        ]

    def _balance_html(self) -> str:
        return balance_html(fmt.money(self.ledger.balance(), self.ledger.currency, self.locale))

    def _sync_visibility(self, _change=None) -> None:
        card = self.fields["payment_method"].value == "card"
        for name in ("card_brand", "card_last4"):
            self.fields[name].layout.display = None if card else "none"
        auto = self.fields["auto_recharge"].value
        for name in ("recharge_amount", "recharge_below"):
            self.fields[name].layout.display = None if auto else "none"

    def _reset_confirmation(self, _change=None) -> None:
        self.fields["confirm"].value = False

    # ---- state ----

    def request(self) -> PurchaseRequest:
        """What the form holds now."""
        f = {name: field.value for name, field in self.fields.items()}
        billing = BillingDetails(**{k: f[k] for k in BillingDetails.__dataclass_fields__})
        return PurchaseRequest(
            f["amount"],
            billing,
            f["auto_recharge"],
            f["recharge_amount"],
            f["recharge_below"],
            confirmed=f["confirm"],
            microsoft_number=f["microsoft_number"],
            purchased_on=f["purchased_on"],
        )

    def show_problems(self, problems: list[Problem]) -> None:
        if any(p.field == "confirm" for p in problems):
            self.fields["confirm"].layout.display = None
        for name, error in self.errors.items():
            error.value = "".join(fmt.error_html(p.message) for p in problems if p.field == name)
        if problems:
            self.status.value = (
                f'<div class="cc-error">Please fix {len(problems)} '
                f"problem{'s' if len(problems) > 1 else ''} below.</div>"
            )

    # ---- handlers ----

    def _on_review(self, _button) -> None:
        if self.fields["purchased_on"].value is None:  # a cleared date picker means today
            self.fields["purchased_on"].value = self.today()
        review, problems = review_purchase(self.ledger, self.request(), locale=self.locale)
        self.show_problems(problems)
        if review is None:
            return
        self.review = review
        self.summary.value = review_html(review, self.locale)
        self.record_button.description = "Record this purchase" if review.amount is not None else "Save these settings"
        self.checked.value = False
        self.status.value = ""
        self.record_button.disabled = False
        self.editor.layout.display = "none"
        self.review_box.layout.display = None
        self.checked.focus()  # Enter does not tick a checkbox: a second Enter here records nothing

    def _on_edit(self, _button) -> None:
        self.review = None
        self.review_box.layout.display = "none"
        self.editor.layout.display = None
        self.fields["amount"].focus()

    def _on_record(self, _button) -> None:
        review = self.review
        if review is None:
            return
        if not self.checked.value:
            self.status.value = fmt.error_html(
                "Check the record against Microsoft's order or invoice, tick "
                "“These match Microsoft's order or invoice”, then record it."
            )
            self.checked.focus()
            return
        self.record_button.disabled = True  # a second click replays the same Microsoft number anyway
        try:
            recorded = record_purchase(self.ledger, review)
        except (CommCreditsError, ValueError) as error:
            self.record_button.disabled = False
            self.status.value = fmt.error_html(str(error))
            return
        self.balance_line.value = self._balance_html()
        self.status.value = f'<div class="cc-success">{html.escape(recorded_message(recorded, self.ledger.currency, self.locale))}</div>'
        self._clear_for_next_purchase()

    def _clear_for_next_purchase(self) -> None:
        for name in ("amount", "microsoft_number", "po_number"):
            self.fields[name].value = ""
        self.fields["purchased_on"].value = self.today()
        self.fields["confirm"].value = False
        self.fields["confirm"].layout.display = "none"
        self.checked.value = False
        self.review = None
        self.review_box.layout.display = "none"
        self.editor.layout.display = None
        self.fields["microsoft_number"].focus()  # ready for the next purchase


def build_funding_form(ledger: Ledger, *, locale: str | None = None) -> FundingForm:
    """The Step 2 form for `ledger`."""
    return FundingForm(ledger, locale=locale)
