#!/usr/bin/env bash
# mergekit in a virtual environment of its own (.venv-mergekit), so that installing it cannot replace
# the project's pinned CPU torch; scripts/studies/check_mergekit.py runs its mergekit-yaml.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${MERGEKIT_VENV:-.venv-mergekit}"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q torch==2.13.0
"$VENV/bin/python" -m pip install -q mergekit==0.1.5
"$VENV/bin/python" -c "import importlib.metadata as m; print('mergekit', m.version('mergekit'))"
