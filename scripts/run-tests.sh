#!/usr/bin/env bash
# Runs the whole test suite against a local environment of its own (own state directory,
# own ports), so a developer's `make demo` environment is left alone. Everything the
# environment started is stopped at the end, whatever the outcome.
set -euo pipefail
cd "$(dirname "$0")/.."
export MLARK_DEV_HOME="${MLARK_TEST_HOME:-${XDG_STATE_HOME:-$HOME/.local/state}/mlark/test}"
export MLARK_DEV_PORT_BASE="${MLARK_TEST_PORT_BASE:-27000}"
mlark=.venv/bin/mlark

"$mlark" dev env down >/dev/null 2>&1 || true
rm -rf "$MLARK_DEV_HOME"
trap 'echo "== stopping the test environment"; "$mlark" dev env down || true' EXIT

echo "== bringing up the test environment (state: \$MLARK_DEV_HOME, port base $MLARK_DEV_PORT_BASE)"
start=$(date +%s)
"$mlark" dev env up -o json >/dev/null
echo "== environment up in $(( $(date +%s) - start ))s"
.venv/bin/pytest "$@"
