#!/usr/bin/env bash
# Set up and start the admin dashboard (Voila) on 127.0.0.1.
# Without COMMCREDITS_DB it serves the demo tenant (sample data, built at data/demo.duckdb on first run).
# With COMMCREDITS_DB=/path/ours.duckdb it serves that ledger and never puts sample data in it: a new file
# starts empty and opens on a short setup on the Overview. PORT (default 8866) picks the port.
# A token is required: the URL printed once the server answers carries it (COMMCREDITS_TOKEN sets your own).
# On a single-user laptop, COMMCREDITS_NO_TOKEN=1 turns the token off.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh runtime
if [ -z "${COMMCREDITS_DB:-}" ]; then
  export COMMCREDITS_DB="$PWD/data/demo.duckdb"
  if [ ! -f "$COMMCREDITS_DB" ]; then
    echo "==> building the demo tenant (sample data) in $COMMCREDITS_DB (first run only)"
    .venv/bin/python -m commcredits.demo "$COMMCREDITS_DB"
  fi
elif [ ! -f "$COMMCREDITS_DB" ]; then
  echo "==> $COMMCREDITS_DB does not exist yet: it starts empty (no sample data); the Overview asks four setup questions"
fi
echo "==> starting the commcredits dashboard (Ctrl+C stops it); its URL follows once it answers"
exec .venv/bin/python -m commcredits.ui.server notebooks --port="${PORT:-8866}" --Voila.ip=127.0.0.1
