#!/usr/bin/env bash
# Creates (or refreshes) the project's virtual environment in .venv/ and the dbt manifest.
# Sourced by scripts/demo.sh and scripts/test.sh so a fresh clone needs nothing installed by hand.
# Re-installs only when pyproject.toml or constraints.txt changed since the last install.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

python_bin="${O211_PYTHON:-}"
if [ -z "$python_bin" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 \
      && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
      python_bin="$candidate"
      break
    fi
  done
fi
if [ -z "$python_bin" ]; then
  echo "o211 set-up: Python 3.11 is required (set O211_PYTHON to its path)" >&2
  exit 1
fi

stamp=".venv/.o211-install-stamp"
want="$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)"
if [ ! -x .venv/bin/python ]; then
  echo "o211 set-up: creating .venv with $python_bin"
  "$python_bin" -m venv .venv
fi
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "o211 set-up: installing pinned dependencies (constraints.txt)"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -c constraints.txt -e ".[dev]"
  echo "$want" > "$stamp"
fi

export DBT_SEND_ANONYMOUS_USAGE_STATS=false
# No DAGSTER_HOME here: each o211 command keeps its Dagster instance in its data directory
# ($O211_DATA_DIR/.dagster) unless DAGSTER_HOME is set (orchestration/README.md).
# dagster-dbt reads the manifest at definition load; build it here, never at import time.
.venv/bin/o211 prepare
