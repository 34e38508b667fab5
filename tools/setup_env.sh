#!/usr/bin/env bash
# Build a fresh virtual environment for tunebook and install everything from the project's own files.
#   VENV            where to build it (default: .venv, git-ignored)
#   TORCH_SPEC      the torch requirement (default: torch==2.13.0, the CPU build on this project's machines)
#   TORCH_INDEX_URL an alternative wheel index for torch (e.g. PyTorch's CPU-only or CUDA index for your platform)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
PY="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then "$PY" -m venv "$VENV"; fi
"$VENV/bin/python" -m pip install --quiet --upgrade "pip>=24" -c constraints.txt
# torch first, explicitly: an unpinned torch pulled in by another package can be a multi-GB CUDA build.
"$VENV/bin/python" -m pip install --quiet ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"} "${TORCH_SPEC:-torch==2.13.0}"
# dev: the test and docs toolchain; onnx, torchao: the optional quantization backends, tested too.
# setuptools prints a generic notice on every editable install ("Editable installation. Please be careful with
# folders in your working directory with the same name as your package"); it says nothing about this project.
PYTHONWARNINGS="ignore:Editable installation" "$VENV/bin/python" -m pip install --quiet -e ".[dev,onnx,torchao]" -c constraints.txt
echo "tunebook installed in $VENV ($("$VENV/bin/python" -c 'import torch; print("torch", torch.__version__)'))"
