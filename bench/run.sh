#!/usr/bin/env bash
# Benchmarks side by side with the reference devcontainer CLI and raw docker (see bench.py).
set -euo pipefail
cd "$(dirname "$0")"
bash ../scripts/reference-cli.sh
../.venv/bin/python bench.py "$@"
../.venv/bin/python ssh_bench.py
../.venv/bin/python tui_bench.py
../.venv/bin/python aws_bench.py
../.venv/bin/python ssh_machine_bench.py
../.venv/bin/python prebuild_bench.py
