#!/usr/bin/env bash
# README command 2 (and CI): set up when needed, then lint and run the whole test suite.
set -euo pipefail
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
exec .venv/bin/pytest "$@"
