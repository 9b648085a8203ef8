#!/usr/bin/env bash
# Set up and run every test: unit, property, notebooks (nbval), browser (Voila + Debian's chromium).
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k ledger`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
export COMMCREDITS_ARTIFACTS="${COMMCREDITS_ARTIFACTS:-$PWD/artifacts}"
mkdir -p "$COMMCREDITS_ARTIFACTS"
# style first: lint and format are part of the tests (pyproject.toml [tool.ruff])
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m compileall -q commcredits bench scripts tests >/dev/null
status=0
# two workers on CI's 2 cores (xdist; the browser modules share one, see tests/conftest.py)
.venv/bin/python -m pytest tests notebooks --nbval-lax -p no:cacheprovider -n auto --maxprocesses=4 --dist loadfile "$@" \
  || status=$?
# pytest exits 5 when it collected nothing: that is a failure here, not a pass
[ "$status" -eq 5 ] && echo "no tests were collected" >&2
exit "$status"
