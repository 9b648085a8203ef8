"""The 'Compare with the admin center' form on Overview: type the balance Microsoft shows, see why it differs."""

from __future__ import annotations

import html
from datetime import UTC, datetime

import ipywidgets as widgets

from ..credits.ledger import Ledger
from ..credits.reconciliation import Reconciliation, reconcile, reconciliations
from ..errors import CommCreditsError
from ..money import parse_typed_amount
from . import format as fmt


def reconciliation_html(result: Reconciliation, locale: str | None = None) -> str:
    """The result as cards (ledger, admin center, difference) and the explanations as a list."""
    m = lambda v: fmt.money(v, result.currency, locale)  # noqa: E731
    cards = "".join(
        [
            fmt.card(
                "Ledger (expected)",
                m(result.expected),
                f"as of {fmt.instant(result.at, locale)} UTC",
                "cc-rec-expected",
            ),
            fmt.card("Admin center (shown)", m(result.shown), "as you read it", "cc-rec-shown"),
            fmt.card(
                "Difference",
                m(result.difference),
                "shown − expected",
                "cc-rec-difference" + ("" if result.matches else " cc-warning"),
            ),
        ]
    )
    items = "".join(f"<li>{html.escape(e.text)}</li>" for e in result.explanations)
    return f'<div class="cc-cards">{cards}</div><ul class="cc-rec-explanations">{items}</ul>'


class ReconcileForm:
    """Balance field, Compare button, and the result or a clear error; each comparison is kept."""

    def __init__(self, ledger: Ledger, *, locale: str | None = None, now=lambda: datetime.now(UTC)):
        self.ledger, self.locale, self.now = ledger, locale or fmt.display_locale(), now
        self.shown = widgets.Text(
            description="Balance shown",
            placeholder="e.g. 1,234.50",
            style={"description_width": "110px"},
            layout=widgets.Layout(width="300px"),
        )
        self.shown.add_class("cc-rec-shown-input")
        self.button = widgets.Button(description="Compare", icon="balance-scale")
        self.button.add_class("cc-rec-compare")
        self.result = widgets.HTML()
        self.result.add_class("cc-rec-result")
        self.last: Reconciliation | None = None
        self.button.on_click(self._on_compare)
        self.widget = widgets.VBox(
            [
                widgets.HTML(
                    '<h3 class="cc-section">Compare with the admin center</h3><div class="cc-hint">Type the '
                    "Communication Credits balance the Microsoft 365 admin center shows (Billing › Your "
                    "products); the workbook explains any difference and keeps each comparison.</div>"
                ),
                widgets.HBox([self.shown, self.button]),
                self.result,
            ]
        )
        self.widget.add_class("cc-reconcile")

    def _on_compare(self, _button=None) -> None:
        try:
            amount = parse_typed_amount(
                self.shown.value, self.ledger.currency, self.locale, "shown_balance", allow_zero=True
            )
            self.last = reconcile(self.ledger, amount, at=self.now(), locale=self.locale)
        except CommCreditsError as error:
            message = getattr(error, "message", None) or str(error)
            self.result.value = fmt.error_html(f"Balance shown: {message}")
            return
        self.result.value = reconciliation_html(self.last, self.locale) + self._history_html()

    def _history_html(self, limit: int = 5) -> str:
        """The latest comparisons kept (view reconciliations), newest first."""
        kept = reconciliations(self.ledger).head(limit)
        if len(kept) < 2:
            return ""
        table = fmt.html_table(
            kept,
            labels={
                "as_of": "Compared (UTC)",
                "shown": "Admin center",
                "expected": "Ledger",
                "difference": "Difference",
                "unexplained": "Unexplained",
            },
            money_columns=("shown", "expected", "difference", "unexplained"),
            instant_columns=("as_of",),
            currency=self.ledger.currency,
            css_class="cc-table cc-rec-history",
            locale=self.locale,
        )
        return f'<div class="cc-hint">Earlier comparisons (kept in the ledger):</div>{table}'
