#!/usr/bin/env bash
# README command 2 (and CI): set up when needed, then lint and run the whole test suite.
# `--quick` (for working, not CI): the same lint, then only the tests not marked slow.
# Other arguments go to pytest.
set -euo pipefail
quick=false
if [ "${1:-}" = "--quick" ]; then
  quick=true
  shift
fi
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
bash scripts/system-deps.sh || echo "o211 tests: system packages unavailable; tests that need them say so"
echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== sqlfluff"
.venv/bin/sqlfluff lint dbt_project/models dbt_project/tests dbt_project/macros
echo "== import layers (pyproject.toml [tool.importlinter])"
.venv/bin/lint-imports --no-cache
echo "== mypy (pyproject.toml [tool.mypy])"
.venv/bin/mypy
echo "== pytest"
# Parallel workers (tests/conftest.py says what they share): most tests wait on child processes
# and disk, so three workers beat two on the 2-core machine. O211_TEST_WORKERS=0 runs serially.
selection=()
if $quick; then
  selection=(-m "not slow")
fi
exec .venv/bin/pytest -n "${O211_TEST_WORKERS:-3}" ${selection[@]+"${selection[@]}"} "$@"
