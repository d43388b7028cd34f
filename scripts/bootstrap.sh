#!/usr/bin/env bash
# Create .venv (Python 3.11) and install plan-etl with its pinned dependencies.
# Idempotent: does nothing when pyproject.toml has not changed since the last install.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-}
if [ -z "$PY" ]; then
  for c in python3.11 python3; do
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then PY=$c; break; fi
  done
fi
[ -n "$PY" ] || { echo "plan-etl needs Python 3.11 (set PYTHON=/path/to/python3.11)" >&2; exit 1; }
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ -f "$stamp" ]; then exit 0; fi
echo "==> creating .venv with $PY and installing dependencies (first run: about a minute)"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check uv 2>&1 | grep -v "is ignored" || true
VIRTUAL_ENV=$PWD/.venv .venv/bin/uv pip install -q --compile-bytecode --python .venv/bin/python -e ".[dev]"
rm -f .venv/.installed-*
touch "$stamp"
echo "==> .venv ready"
