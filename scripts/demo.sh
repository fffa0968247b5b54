#!/usr/bin/env bash
# README command 1: set up when needed, then run the whole pipeline on synthetic data.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
exec .venv/bin/o211 demo "$@"
