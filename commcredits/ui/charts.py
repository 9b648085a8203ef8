"""Interactive charts (plotly) for the dashboard. Money is converted to float only here, for drawing."""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime

import ipywidgets as widgets
import pandas as pd
import plotly.graph_objects as go
from babel.numbers import get_currency_symbol

from . import format as fmt

PLOTLY_MIMETYPE = "application/vnd.plotly.v1+json"
BLUE, GREEN, RED, GREY = "#0f548c", "#107c10", "#a4262c", "#8a8886"

# What a chart says instead of bare axes while the ledger holds nothing for it to draw
NO_BALANCE_YET = (
    "No purchases or calls yet: the balance appears here once Step 2 records a purchase or the Usage page "
    "imports calls."
)
NO_PURCHASES_YET = "No purchases yet: each one appears here at its expiry date, 12 months after it was bought."
NO_SPEND_YET = "No calls yet: the chart appears after the first call-log import."


def _layout(fig: go.Figure, title: str, currency: str, locale: str | None, *, empty: str) -> go.Figure:
    """Title, size, axes and legend; `empty` is the sentence shown instead of the chart when it has no data."""
    symbol = get_currency_symbol(currency, locale=locale or fmt.display_locale())
    fig.update_layout(
        meta={"empty": empty},
        # the title is shown as a heading above the chart (see as_outputs): on a phone plotly's own title
        # would sit under the toolbar
        title={"text": title},
        height=320,
        margin={"l": 60, "r": 20, "t": 30, "b": 40},
        template="plotly_white",
        yaxis={"tickprefix": symbol, "separatethousands": True},
        legend={"orientation": "h", "y": -0.18},
        hovermode="x unified",
    )
    return fig


def balance_chart(daily: pd.DataFrame, currency: str, *, trigger=None, locale: str | None = None) -> go.Figure:
    """End-of-day balance over time, with the auto-recharge trigger as a line when it is on."""
    fig = go.Figure()
    fig.add_scatter(
        x=daily["day"],
        y=daily["balance"].astype(float),
        mode="lines" if len(daily) > 2 else "lines+markers",  # a first purchase is one point: a dot, not nothing
        name="Balance",
        line={"color": BLUE, "width": 2, "shape": "hv"},
        marker={"size": 8},
        fill="tozeroy",
        fillcolor="rgba(15,84,140,0.08)",
    )
    if "forfeited" in daily and (daily["forfeited"] > 0).any():
        lost = daily[daily["forfeited"] > 0]
        fig.add_scatter(
            x=lost["day"],
            y=lost["balance"].astype(float),
            mode="markers",
            name="Expired (forfeited)",
            marker={"color": RED, "size": 9, "symbol": "x"},
            customdata=lost["forfeited"].astype(float),
            hovertemplate="forfeited %{customdata:,.2f}",
        )
    if trigger is not None:
        fig.add_hline(
            y=float(trigger),
            line={"color": GREY, "dash": "dot"},
            annotation_text="auto-recharge trigger",
            annotation_position="top left",
        )
    if len(daily) == 1:  # plotly would zoom into milliseconds around a lone day
        fig.update_xaxes(range=_days_around(daily["day"].iloc[0], 3))
    return _layout(fig, "Balance at the end of each day", currency, locale, empty=NO_BALANCE_YET)


def _days_around(day, days: int) -> list:
    middle = pd.Timestamp(day)
    return [middle - pd.Timedelta(days=days), middle + pd.Timedelta(days=days)]


# Past this many lots the chart shows one bar per expiry month: a tenant recharging every day has thousands of
# lots, and 27,000 bars (4 MB of figure) keep the Overview blank for over a minute in the browser.
MAX_LOT_BARS = 60
ONE_BAR_WIDTH_MS = 10 * 24 * 3600 * 1000  # ten days: visible on a year's axis
LONE_BAR_MARGIN = pd.Timedelta(days=30)
INVOICES_NAMED = 3  # a day's bar names this many invoices, then says how many more


def expiry_chart(
    lots: pd.DataFrame, currency: str, *, now: datetime | None = None, locale: str | None = None
) -> go.Figure:
    """Each expiry day's lots as one bar (or, for many lots, each expiry month): what is still open, what was
    spent, what was forfeited."""
    now = now or datetime.now(UTC)
    per_month = len(lots) > MAX_LOT_BARS
    if per_month:
        frame = expiry_months(lots)
        label = (
            frame["expires_at"].map(lambda m: fmt.month(m, locale))
            + ", "
            + frame["lots"].map(lambda n: f"{fmt.count(n, locale)} purchases")
        )
    else:
        frame = expiry_days(lots)
        label = frame["invoices"]
    width = bar_widths_ms(frame["expires_at"])
    fig = go.Figure()
    for column, name, color in (
        ("spent", "Spent", GREY),
        ("forfeited", "Forfeited", RED),
        ("remaining", "Still open", GREEN),
    ):
        fig.add_bar(
            width=width,
            x=frame["expires_at"],
            y=frame[column].astype(float),
            name=name,
            marker_color=color,
            customdata=label,
            hovertemplate=f"%{{customdata}}: {name.lower()} %{{y:,.2f}}",
        )
    fig.add_vline(x=now, line={"color": BLUE, "dash": "dash"})
    fig.add_annotation(x=now, y=1, yref="paper", text="today", showarrow=False, xanchor="left", font={"color": BLUE})
    fig.update_layout(barmode="stack", bargap=0.5)
    if len(frame) == 1:  # the axis would otherwise end in the middle of the bar
        expiry = pd.Timestamp(frame["expires_at"].iloc[0])
        fig.update_xaxes(range=[min(pd.Timestamp(now), expiry) - LONE_BAR_MARGIN, expiry + LONE_BAR_MARGIN])
    title = "Purchases by expiry " + ("month" if per_month else "date") + " (12 months after purchase)"
    return _layout(fig, title, currency, locale, empty=NO_PURCHASES_YET)


def bar_widths_ms(when: pd.Series) -> list[float] | None:
    """A width for each date bar: ten days, narrowed to 80% of the gap to its nearest neighbour.

    plotly sizes date bars by the smallest gap between any two of them, so two purchases made 41 minutes apart
    turned every bar into a sliver nobody could see, and one bar alone was 1 ms wide."""
    if when.empty:
        return None
    ms = (pd.to_datetime(when, utc=True) - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(milliseconds=1)
    gaps = ms.reset_index(drop=True).diff()
    nearest = pd.concat([gaps, gaps.shift(-1)], axis=1).min(axis=1).fillna(ONE_BAR_WIDTH_MS / 0.8)
    return [min(ONE_BAR_WIDTH_MS, 0.8 * gap) for gap in nearest]


def expiry_days(lots: pd.DataFrame, named: int = INVOICES_NAMED) -> pd.DataFrame:
    """Lots summed per expiry day (UTC): expires_at (the day's start), invoices (who they are, for the hover
    label), spent, forfeited, remaining. Purchases made the same day expire the same day, minutes apart."""
    day = pd.to_datetime(lots["expires_at"], utc=True).dt.floor("D")
    grouped = lots.assign(expires_at=day).sort_values("expires_at").groupby("expires_at", as_index=False)

    def invoices(ids: pd.Series) -> str:
        shown = ", ".join(str(i) for i in ids.iloc[:named])
        more = f" and {len(ids) - named} more" if len(ids) > named else ""
        return ("invoice " if len(ids) == 1 else "invoices ") + shown + more

    return grouped.agg(
        invoices=("invoice_id", invoices),
        spent=("spent", "sum"),
        forfeited=("forfeited", "sum"),
        remaining=("remaining", "sum"),
    )


def expiry_months(lots: pd.DataFrame) -> pd.DataFrame:
    """Lots summed per expiry month (UTC): expires_at (the month's first day), lots, spent, forfeited, remaining."""
    month = pd.to_datetime(lots["expires_at"], utc=True).dt.tz_localize(None).dt.to_period("M").dt.to_timestamp()
    grouped = lots.assign(expires_at=month.dt.tz_localize("UTC")).groupby("expires_at", as_index=False)
    return grouped.agg(
        lots=("lot_id", "size"), spent=("spent", "sum"), forfeited=("forfeited", "sum"), remaining=("remaining", "sum")
    )


def spend_by_month_chart(months: pd.DataFrame, currency: str, locale: str | None = None) -> go.Figure:
    """Credits spent per month as bars."""
    fig = go.Figure()
    labels = [fmt.month(m, locale) for m in pd.to_datetime(months["month"])]
    fig.add_bar(
        x=labels,
        y=months["amount"].astype(float),
        marker_color=BLUE,
        customdata=months["calls"],
        name="Spent",
        hovertemplate="%{x}: %{y:,.2f} (%{customdata} calls)<extra></extra>",
    )
    fig = _layout(fig, "Credits spent per month", currency, locale, empty=NO_SPEND_YET)
    fig.update_layout(xaxis={"type": "category"}, showlegend=False, height=300)
    return fig


def as_output(figure: go.Figure) -> dict:
    """A figure as a notebook display output for plotly's JupyterLab/Voila mime renderer (bundled, offline).

    Explicit on purpose: plotly's renderer auto-detection can pick a browser renderer inside a Voila
    kernel, which blocks the page; and plotly's own encoder turns numpy arrays and datetimes into JSON.
    The title moves out of the figure into a heading (`heading_output`)."""
    spec = json.loads(figure.to_json())
    spec["layout"].pop("title", None)
    spec["config"] = {"displaylogo": False, "responsive": True}
    return {
        "output_type": "display_data",
        "metadata": {},
        "data": {PLOTLY_MIMETYPE: spec, "text/plain": f"{figure.layout.title.text or 'chart'} (chart)"},
    }


def heading_output(figure: go.Figure) -> dict:
    """The figure's title as a heading above it."""
    title = html.escape(figure.layout.title.text or "")
    return {
        "output_type": "display_data",
        "metadata": {},
        "data": {"text/html": f'<h3 class="cc-section cc-chart-title">{title}</h3>', "text/plain": title},
    }


def has_data(figure: go.Figure) -> bool:
    """Whether any of the figure's traces has a point to draw (an empty ledger's charts have none)."""
    return any(trace.x is not None and len(trace.x) for trace in figure.data)


def empty_output(figure: go.Figure) -> dict:
    """The sentence a chart with nothing to draw shows instead of bare axes."""
    sentence = html.escape((figure.layout.meta or {}).get("empty", "Nothing to show yet."))
    return {
        "output_type": "display_data",
        "metadata": {},
        "data": {"text/html": f'<p class="cc-hint cc-chart-empty">{sentence}</p>', "text/plain": sentence},
    }


def show_in(output, figures) -> None:
    """Replace what an ipywidgets Output shows with `figures`, each under its title, or a sentence saying why
    there is nothing to draw yet (safe from callbacks too)."""
    output.outputs = tuple(
        part
        for figure in figures
        for part in (heading_output(figure), as_output(figure) if has_data(figure) else empty_output(figure))
    )


class ChartsAfterFirstPaint:
    """An Output whose first charts draw once the page is on screen, not before its first usable control.

    Drawing plotly charts takes the browser about a second on a busy machine, and Voila shows a page only when
    every widget on it has drawn. The first `show` (the page's render) keeps its figures for `button`, a hidden
    button the page template (index.html.j2) clicks right after the first paint; any later `show` (a refresh,
    an import) draws at once."""

    def __init__(self, output: widgets.Output):
        self.output, self.pending, self.first = output, None, True
        self.button = widgets.Button(description="Draw the charts", layout=widgets.Layout(display="none"))
        self.button.add_class("cc-draw-later")
        self.button.on_click(self._draw)

    def show(self, figures) -> None:
        if self.first:
            self.first, self.pending = False, figures
            return
        self.pending = None
        show_in(self.output, figures)

    def _draw(self, _=None) -> None:
        if self.pending is not None:
            show_in(self.output, self.pending)
            self.pending = None
        self.button.add_class("cc-drawn")  # for browser tests: the charts are on their way
