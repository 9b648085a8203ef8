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

ANALYST_NOTEBOOKS = ("analyst.ipynb",)
HOME_PAGE = "00_overview.ipynb"
TEMPLATES = Path(__file__).parent / "jupyter"   # holds voila/templates/commcredits


def admin_pages(folder: Path) -> list[str]:
    """The notebooks in `folder` that are dashboard pages: all of them but the analyst notebook."""
    return sorted(p.name for p in Path(folder).glob("*.ipynb") if p.name not in ANALYST_NOTEBOOKS)


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
            "--VoilaConfiguration.default_pool_size=1", "--VoilaKernelManager.fill_delay=8",
            # front-end extensions the pages do not use: less JavaScript to load (jupysql is for analysts)
            "--VoilaConfiguration.extension_denylist=jupysql-plugin",
            "--VoilaConfiguration.extension_denylist=@voila-dashboards/jupyterlab-preview",
            *(f"--VoilaKernelManager.preheat_denylist={name}" for name in ANALYST_NOTEBOOKS),
            *(f"--VoilaKernelManager.preheat_denylist={name}" for name in pages_that_read_early(given)),
            "--MappingKernelManager.cull_idle_timeout=600", "--MappingKernelManager.cull_interval=60",
            "--no-browser",
        ]
        # traitlets refuses a scalar option given twice: options on the command line replace the defaults
        overridden = {arg.split("=", 1)[0] for arg in given if arg.startswith("--")}
        super().initialize([d for d in defaults if d.split("=", 1)[0] not in overridden] + given)

    def init_handlers(self):
        from tornado.web import RedirectHandler

        pages = "|".join(re.escape(name) for name in admin_pages(Path(self.root_dir)))
        home = f"{self.server_url.rstrip('/')}/voila/render/{HOME_PAGE}"
        handlers = []
        for handler in super().init_handlers():
            pattern, handler_class = handler[0], handler[1]
            name = handler_class.__name__
            if name in ("TornadoVoilaTreeHandler", "VoilaContentsHandler"):
                continue  # no listing of the folder
            if name == "TornadoVoilaHandler":  # render only the admin pages
                handler = (pattern.replace("/voila/render/(.*)", f"/voila/render/({pages})"), *handler[1:])
            handlers.append(handler)
        root = self.server_url.rstrip("/")
        return [(f"{root}/?", RedirectHandler, {"url": home}),
                (f"{root}/voila/tree.*", RedirectHandler, {"url": home})] + handlers

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
