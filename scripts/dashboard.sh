#!/usr/bin/env bash
# Set up and start the admin dashboard (Voila) on 127.0.0.1, on the embedded demo data unless
# COMMCREDITS_DB points at another ledger file. PORT (default 8866) picks the port.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh runtime
export COMMCREDITS_DB="${COMMCREDITS_DB:-$PWD/data/demo.duckdb}"
if [ ! -f "$COMMCREDITS_DB" ]; then
  echo "==> building the demo tenant in $COMMCREDITS_DB (first run only)"
  .venv/bin/python -m commcredits.demo "$COMMCREDITS_DB"
fi
port="${PORT:-8866}"
echo "==> commcredits dashboard: http://127.0.0.1:$port/voila/render/00_overview.ipynb  (Ctrl+C stops it)"
exec .venv/bin/voila notebooks/ --no-browser --port="$port" --Voila.ip=127.0.0.1 \
  --ServerApp.root_dir="$PWD/notebooks" --MappingKernelManager.cull_idle_timeout=600 \
  --MappingKernelManager.cull_interval=60
