#!/usr/bin/env bash
# Regenerate constraints.txt from a working environment (run after changing requirements in settings.ini).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
{ echo "# Every version CI installs, frozen from a tested environment by tools/freeze_constraints.sh."
  echo "pip==$("$VENV/bin/python" -m pip --version | cut -d' ' -f2)"
  "$VENV/bin/python" -m pip freeze --exclude-editable | grep -v '^tunebook' | sed -E 's/^torch==([0-9.]+)\+.*/torch==\1/'
} > constraints.txt.tmp && mv constraints.txt.tmp constraints.txt
echo "constraints.txt: $(grep -c '==' constraints.txt) pins"
