"""Waiting for a page in real Chromium to settle: a condition, not a fixed sleep."""

# Resolves once nothing in the page changed for `quiet` ms (charts drawn, late widgets shown, a resize handled),
# or after `limit` ms if something keeps changing (a progress bar): then the check that follows says what is wrong.
_QUIET = """([quiet, limit]) => new Promise(resolve => {
  let timer;
  const done = () => { observer.disconnect(); clearTimeout(cap); resolve(); };
  const observer = new MutationObserver(() => { clearTimeout(timer); timer = setTimeout(done, quiet); });
  const cap = setTimeout(done, limit);
  observer.observe(document.documentElement, {subtree: true, childList: true, attributes: true, characterData: true});
  timer = setTimeout(done, quiet);
})"""


# Charts drawn after the first paint (ui/charts.py ChartsAfterFirstPaint): each chart's heading has its plot or
# its sentence for an empty ledger
_CHARTS_DRAWN = """() => !document.querySelector('.cc-draw-later:not(.cc-drawn)')
  && document.querySelectorAll('.cc-chart-title').length
     === document.querySelectorAll('.js-plotly-plot').length + document.querySelectorAll('.cc-chart-empty').length"""


def settle(page, quiet: int = 300, limit: int = 10_000) -> None:
    """Wait for the charts, two frames (layout after a resize), then until the page has been still for `quiet` ms."""
    page.wait_for_function(_CHARTS_DRAWN, timeout=60_000)
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    page.evaluate(_QUIET, [quiet, limit])
