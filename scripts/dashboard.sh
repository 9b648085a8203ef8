#!/usr/bin/env bash
# Set up and start the admin dashboard (Voila) on 127.0.0.1, on the embedded demo data unless
# COMMCREDITS_DB points at another ledger file. PORT (default 8866) picks the port.
# A token is required: the URL printed once the server answers carries it (COMMCREDITS_TOKEN sets your own).
# On a single-user laptop, COMMCREDITS_NO_TOKEN=1 turns the token off.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh runtime
export COMMCREDITS_DB="${COMMCREDITS_DB:-$PWD/data/demo.duckdb}"
if [ ! -f "$COMMCREDITS_DB" ]; then
  echo "==> building the demo tenant in $COMMCREDITS_DB (first run only)"
  .venv/bin/python -m commcredits.demo "$COMMCREDITS_DB"
fi
echo "==> starting the commcredits dashboard (Ctrl+C stops it); its URL follows once it answers"
exec .venv/bin/python -m commcredits.ui.server notebooks --port="${PORT:-8866}" --Voila.ip=127.0.0.1
