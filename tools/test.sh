#!/usr/bin/env bash
# tunebook's test command (the README's and CI's): export/clean checks, import contracts, every notebook, the pytest suites.
#   VENV   the environment built by tools/setup_env.sh (default: .venv)
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$(cd "${VENV:-.venv}" && pwd)/bin:$PATH" HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 MPLBACKEND=Agg
declare -a NAMES RESULTS
step() { # step NAME COMMAND...: run a step, remember whether it passed
  local name="$1"; shift; echo; echo "=== $name"; local t0=$SECONDS
  if "$@"; then RESULTS+=("PASS  $name ($((SECONDS-t0)) s)"); else RESULTS+=("FAIL  $name ($((SECONDS-t0)) s)"); fi
}
unchanged() { # unchanged PATH: fail if git sees any change (or new file) under PATH
  local diff; diff="$(git status --porcelain -- "$1")"
  if [ -n "$diff" ]; then echo "changed under $1:"; echo "$diff"; git --no-pager diff --stat -- "$1"; return 1; fi
}
export_check() { nbdev_export && unchanged tunebook/; }
clean_check() { nbdev_clean && unchanged nbs/; }
step "nbdev_export leaves tunebook/ unchanged" export_check
step "nbdev_clean leaves nbs/ unchanged" clean_check
step "README.md agrees with nbs/index.ipynb" python tools/make_readme.py --check
step "import-linter: layers and forbidden imports" lint-imports
nbtest() { OMP_NUM_THREADS=1 nbdev_test --n_workers 2 --timing; }  # 2 notebooks at a time, one thread each: no oversubscription
step "nbdev_test (every notebook)" nbtest
step "pytest tests/" python -m pytest tests/ -q -rs
echo; echo "=== summary"
fails=0
for r in "${RESULTS[@]}"; do echo "$r"; [[ "$r" == FAIL* ]] && fails=$((fails+1)); done
echo "$(( ${#RESULTS[@]} - fails )) passed, $fails failed"
exit $(( fails > 0 ))
