"""Serve the admin dashboard with Voila: admin pages only, a token by default, kernels kept warm.

`python -m commcredits.ui.server NOTEBOOK_DIR [voila options]` serves every notebook in NOTEBOOK_DIR except
the analyst notebook. It differs from plain `voila DIR` in what an admin would notice:

- a token is required (generated, or COMMCREDITS_TOKEN); COMMCREDITS_NO_TOKEN=1 turns it off for a
  single-user laptop. The URL with the token is printed once the server answers, so opening it works at once;
- `/` opens the Overview; there is no file listing and the analyst notebook is not served;
- each page keeps one kernel warm that has done its imports (`preheat_kernel`): the page waits in
  `voila.utils.wait_for_request()` and reads the ledger only when an admin opens it, so it is never stale;
- the `commcredits` template replaces "Executing 1 of 4" with a loading message that names the page.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from voila.app import Voila

from ..pages import ANALYST_NOTEBOOKS, HOME_PAGE, PAGES

TEMPLATES = Path(__file__).parent / "jupyter"  # holds voila/templates/commcredits


def fontawesome_folder() -> Path:
    """Font Awesome's CSS and fonts as the fontawesome-free package installs them (served at
    /commcredits/fontawesome/: the template points Voila's CDN links there)."""
    from importlib.metadata import distribution

    return Path(distribution("fontawesome-free").locate_file("fontawesome-free/static/fontawesome_free"))


def admin_pages(folder: Path) -> list[str]:
    """The dashboard pages (commcredits.pages) found in `folder`: no other notebook there is served."""
    return [p.notebook for p in PAGES if (Path(folder) / p.notebook).is_file()]


def dashboard_token(environ=os.environ) -> str:
    """The token admins must present: COMMCREDITS_TOKEN, a new random one, or "" with COMMCREDITS_NO_TOKEN=1."""
    if environ.get("COMMCREDITS_NO_TOKEN", "") not in ("", "0"):
        return ""
    return environ.get("COMMCREDITS_TOKEN") or secrets.token_urlsafe(24)


def pages_that_read_early(argv: list[str]) -> list[str]:
    """Pages without `wait_for_request()` would show what was true when their warm kernel started: they get a
    fresh kernel per visit instead."""
    folder = Path(next((a for a in argv if not a.startswith("-")), "."))
    if folder.is_file():
        folder = folder.parent
    return [name for name in admin_pages(folder) if "wait_for_request()" not in (folder / name).read_text()]


class QuietLog(logging.Filter):
    """Drop the log lines that mislead an admin: Voila's URL with a literal "?token=..." (the real one is printed
    once the server answers) and "Notebook … is not trusted" per page (Voila runs its pages whatever their
    signature; trust is JupyterLab's notion for untrusted outputs)."""

    HIDDEN = ("Voilà is running at:", "Notebook %s is not trusted")

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.HIDDEN)


def kernel_transport() -> list[str]:
    """Kernels talk to the server over local sockets (IPC) where the OS has them: no TCP ports, and none of
    ipykernel's "running over TCP without encryption" warnings. Windows has no IPC transport in ZeroMQ."""
    return [] if os.name == "nt" else ["--KernelManager.transport=ipc"]


# The browser's time zone reaches the kernel as the `cc_tz` cookie (format.admin_timezone). A browser that never
# sent it gets this page first: it stores the zone and loads the page again, so even the first page shows local
# times. Where cookies are refused it goes on with `cc_tz_asked` in the query, and times stay in UTC.
ZONE_FIRST = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Communication Credits</title></head>
<body><p>Opening the dashboard…</p><script>
(function () {
  var zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) {}
  if (zone) document.cookie = "cc_tz=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; SameSite=Strict";
  if (document.cookie.indexOf("cc_tz=") >= 0) { location.reload(); return; }
  var url = new URL(location.href); url.searchParams.set("cc_tz_asked", "1"); location.replace(url.href);
})();
</script></body></html>"""


def zone_first(handler_class):
    """`handler_class` (Voila's page handler), answering ZONE_FIRST to a signed-in browser without the cookie."""

    class ZoneFirst(handler_class):
        async def get(self, path=None):
            asked = self.get_cookie("cc_tz") or self.get_argument("cc_tz_asked", None)
            if self.current_user and not asked and not os.environ.get("COMMCREDITS_TIMEZONE"):
                self.set_header("Cache-Control", "no-store")
                self.finish(ZONE_FIRST)
                return
            return await super().get(path)

    return ZoneFirst


class Dashboard(Voila):
    """Voila limited to the admin pages, with the dashboard's defaults."""

    def initialize(self, argv=None):
        given = list(sys.argv[1:] if argv is None else argv)
        os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(TEMPLATES), os.environ.get("JUPYTER_PATH")]))
        defaults = [
            f"--Voila.token={dashboard_token()}",
            "--VoilaConfiguration.template=commcredits",
            "--VoilaConfiguration.allow_template_override=NO",
            "--VoilaConfiguration.http_header_envs=Cookie",  # the browser's time zone (cc_tz), see format.py
            "--VoilaConfiguration.preheat_kernel=True",
            # one warm kernel per page (about 150 MB each); its replacement starts a few seconds after it is
            # taken, so the start does not compete with the page being opened for the CPU
            "--VoilaConfiguration.default_pool_size=1",
            "--VoilaKernelManager.fill_delay=8",
            # front-end extensions the pages do not use: less JavaScript to load (jupysql is for analysts)
            "--VoilaConfiguration.extension_denylist=jupysql-plugin",
            "--VoilaConfiguration.extension_denylist=@voila-dashboards/jupyterlab-preview",
            *(f"--VoilaKernelManager.preheat_denylist={name}" for name in ANALYST_NOTEBOOKS),
            *(f"--VoilaKernelManager.preheat_denylist={name}" for name in pages_that_read_early(given)),
            "--MappingKernelManager.cull_idle_timeout=600",
            "--MappingKernelManager.cull_interval=60",
            *kernel_transport(),
            "--no-browser",
        ]
        # traitlets refuses a scalar option given twice: options on the command line replace the defaults
        overridden = {arg.split("=", 1)[0] for arg in given if arg.startswith("--")}
        super().initialize([d for d in defaults if d.split("=", 1)[0] not in overridden] + given)
        self.log.addFilter(QuietLog())

    def init_handlers(self):
        from tornado.web import RedirectHandler, StaticFileHandler

        pages = "|".join(re.escape(name) for name in admin_pages(Path(self.root_dir)))
        home = f"{self.server_url.rstrip('/')}/voila/render/{HOME_PAGE}"
        handlers = []
        for handler in super().init_handlers():
            pattern, handler_class = handler[0], handler[1]
            name = handler_class.__name__
            if name in ("TornadoVoilaTreeHandler", "VoilaContentsHandler"):
                continue  # no listing of the folder
            if name == "TornadoVoilaHandler":  # render only the admin pages, in the admin's time zone
                handler = (
                    pattern.replace("/voila/render/(.*)", f"/voila/render/({pages})"),
                    zone_first(handler_class),
                    *handler[2:],
                )
            handlers.append(handler)
        root = self.server_url.rstrip("/")
        return [
            (f"{root}/?", RedirectHandler, {"url": home}),
            (f"{root}/voila/tree.*", RedirectHandler, {"url": home}),
            (f"{root}/commcredits/fontawesome/(.*)", StaticFileHandler, {"path": str(fontawesome_folder())}),
        ] + handlers

    def start(self):
        threading.Thread(target=self._announce, daemon=True).start()
        super().start()

    def _announce(self) -> None:
        """Print the Overview's URL (with the token) once the server answers, as Jupyter does."""
        for _ in range(600):
            try:
                urllib.request.urlopen(f"{self.connection_url.rstrip('/')}/login", timeout=2).read()
                break
            except urllib.error.HTTPError:
                break  # the server answered
            except OSError:
                time.sleep(0.1)
        token = self.identity_provider.token
        url = f"{self.connection_url.rstrip('/')}/voila/render/{HOME_PAGE}" + (f"?token={token}" if token else "")
        note = "" if token else "  (no token: COMMCREDITS_NO_TOKEN is set)"
        print(f"\n    The dashboard is ready: {url}{note}\n", flush=True)


main = Dashboard.launch_instance

if __name__ == "__main__":
    main()
