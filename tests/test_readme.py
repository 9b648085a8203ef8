"""The README's promises: the quickstart really runs, and CI runs the README's test command."""

import contextlib
import io
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_quickstart_runs_and_prints_the_balance():
    quickstart = README.split("## Quickstart", 1)[1]
    code = re.search(r"```python\n(.*?)```", quickstart, re.S).group(1)
    assert len([line for line in code.splitlines() if line.strip()]) <= 6  # six lines of code, blank lines aside
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README quickstart", "exec"), {})
    assert out.getvalue().strip() == "46.80"


def test_ci_runs_the_readme_test_command_verbatim():
    last_command = [
        line
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.startswith(("#", "set ", "cd "))
    ][-1].strip()
    assert f"{last_command}  " in README or f"{last_command}\n" in README


def test_environment_yml_lists_every_runtime_dependency():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    conda = (ROOT / "environment.yml").read_text()
    for requirement in project["dependencies"] + project["optional-dependencies"]["test"]:
        name = re.split(r"[<>=!\[ ]", requirement)[0]
        conda_name = {"duckdb": "python-duckdb"}.get(name, name)
        assert f"- {conda_name}" in conda, f"{name} missing from environment.yml"


def test_python_quick_reference_runs_against_real_formats(writable_demo_db, tmp_path):
    block = README.split("## Python quick reference", 1)[1]
    code = re.search(r"```python\n(.*?)```", block, re.S).group(1)
    fixtures = Path(__file__).parent / "fixtures"
    code = (
        code.replace('"data/demo.duckdb"', repr(str(writable_demo_db)))
        .replace('"users.json"', repr(str(fixtures / "graph" / "users.json")))
        .replace('"subscribedSkus.json"', repr(str(fixtures / "graph" / "subscribed_skus.json")))
        .replace('"getPstnCalls-pages/"', repr(str(fixtures / "calls" / "graph_pages")))
    )
    namespace = {}
    exec(compile(code, "README quick reference", "exec"), namespace)
    assert namespace["plan"].changes is not None
