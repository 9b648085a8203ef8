"""Shared test set-up: a demo ledger for notebooks and browser tests, and Debian's chromium for Playwright."""

import contextlib
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("default", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# CI replays the same examples every run, so a landing never hinges on a lucky draw; explore with "deep".
settings.register_profile(
    "ci", max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("deep", max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "default"))

# tests import their helpers (scenario.py, voila_server.py) as plain modules
sys.path.insert(0, str(Path(__file__).parent))

BROWSER_MODULE = re.compile(r"(^|/)test_(browser_\w+|\w+_browser)\.py$")
ARTIFACTS = Path(os.environ.get("COMMCREDITS_ARTIFACTS", Path(__file__).resolve().parents[1] / "artifacts"))


def pytest_configure(config):
    """Build the demo tenant once per run and point notebooks (nbval kernels inherit the environment) at it."""
    if os.environ.get("COMMCREDITS_TEST_DB"):
        return
    from commcredits.demo import build_demo

    folder = Path(tempfile.mkdtemp(prefix="commcredits-tests-"))
    path = folder / "demo.duckdb"
    build_demo(path)
    os.environ["COMMCREDITS_TEST_DB"] = str(path)
    os.environ["COMMCREDITS_DB"] = str(path)


def pytest_xdist_make_scheduler(config, log):
    """pytest-xdist's `--dist loadfile` (scripts/test.sh), with every module that drives the dashboard in
    Chromium as one unit: they run on one worker, which starts one dashboard server for them all. (xdist's
    `loadgroup` marks do not reach its scheduler with pytest 9.2, whose node ids it can no longer rename.)"""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class BrowserModulesTogether(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = super()._split_scope(nodeid)
            return "dashboard browser modules" if BROWSER_MODULE.search(module) else module

    config.option.loadscopereorder = False  # units in collection order: the browser unit, the longest, starts at once
    return BrowserModulesTogether(config, log)


@pytest.fixture(scope="session")
def demo_db_path() -> Path:
    """The demo tenant built for this run (do not write to it; copy it with `writable_demo_db`)."""
    return Path(os.environ["COMMCREDITS_TEST_DB"])


@pytest.fixture
def writable_demo_db(demo_db_path, tmp_path) -> Path:
    """A private copy of the demo tenant that a test may change."""
    copy = tmp_path / "demo.duckdb"
    shutil.copy(demo_db_path, copy)
    return copy


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's chromium: `playwright install` cannot download a browser here."""
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Debian's chromium is not installed; `bash scripts/test.sh` installs it.")
    return {
        **browser_type_launch_args,
        "executable_path": executable,
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """A tall window, so screenshots show whole pages (Voila scrolls inside its own container); every request
    presents the test servers' token, as an admin's browser does after opening the printed URL."""
    from voila_server import TEST_TOKEN

    return {
        **browser_context_args,
        "viewport": {"width": 1280, "height": 2200},
        "extra_http_headers": {"Authorization": f"token {TEST_TOKEN}"},
    }


@pytest.fixture(scope="session")
def shared_dashboard(demo_db_path, artifacts, tmp_path_factory):
    """One dashboard server for every browser test (token, warm kernels, as admins get it): starting Voila and
    its page kernels is most of a browser test's time on 2 cores. Tests take it through `dashboard_server` or
    `served`, and give it their own ledger with `serve`. A Microsoft 365 test writes `config` (the kernels'
    COMMCREDITS_CONFIG, removed by `serve`) and names its stand-in credential from tests/ (on the kernels'
    PYTHONPATH, last)."""
    from voila_server import SharedDashboard, dashboard

    folder = tmp_path_factory.mktemp("served")
    db, config = folder / "ledger.duckdb", folder / "config.toml"
    shutil.copy(demo_db_path, db)
    env = {
        "COMMCREDITS_CONFIG": str(config),
        "PYTHONPATH": os.pathsep.join(filter(None, [os.environ.get("PYTHONPATH"), str(Path(__file__).parent)])),
    }
    # Two warm kernels per page: tests often open a page twice in a row (two tabs, a second visit), and a visit
    # that finds the pool empty waits for the refill to start and import. Kernels of pages a test has closed
    # are shut down after five minutes, so a whole run does not pile them up. Not sooner: the culler also takes
    # a kernel whose page has not connected yet, and on a loaded machine a page took over 60 s to connect.
    options = [
        "--VoilaConfiguration.default_pool_size=2",
        "--KernelManager.transport=ipc",
        "--MappingKernelManager.cull_idle_timeout=300",
        "--MappingKernelManager.cull_interval=30",
    ]

    @contextlib.contextmanager
    def start(restarts: int):
        log = artifacts / ("voila-dashboard.log" if not restarts else f"voila-dashboard-restart-{restarts}.log")
        with dashboard(db, log_path=log, extra_env=env, extra_args=options) as server:
            server.config = config
            server.wait_until_warm(per_page=2)  # the first tests then do not compete with kernels starting
            yield server

    shared = SharedDashboard(start)
    yield shared
    shared.close()


@pytest.fixture
def dashboard_server(shared_dashboard):
    """The shared dashboard server, answering (see `shared_dashboard`)."""
    return shared_dashboard.get()


@pytest.fixture
def served(dashboard_server, demo_db_path):
    """The shared dashboard serving a fresh copy of the demo tenant, which this test may change."""
    dashboard_server.serve(demo_db_path)
    return dashboard_server
