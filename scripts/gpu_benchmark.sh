#!/usr/bin/env bash
# Copyright 2026 The sketch-rnn-tf2 Authors.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
#
# The GPU table from nothing but this repository and pip (docs/performance.md):
#
#   scripts/gpu_benchmark.sh                 # venv .venv-gpubench, install, table
#   scripts/gpu_benchmark.sh --current       # this Python's packages, no venv
#   scripts/gpu_benchmark.sh --cpu --no_install --current   # the CI-sized CPU run
#
# Flags of its own: --cpu (on the CPU, CI-sized; installs plain tensorflow),
# --no_install (skip pip), --current (use $PYTHON, default python3, as it is),
# --venv=DIR (default .venv-gpubench). Any other argument goes to
# scripts/gpu_table.py (--configs, --steps, --timeout, --budget, --json, ...).
set -euo pipefail
cd "$(dirname "$0")/.."

cpu=0
install=1
current=0
venv=.venv-gpubench
args=()
for arg in "$@"; do
  case $arg in
    --cpu) cpu=1; args+=(--cpu) ;;
    --no_install) install=0 ;;
    --current) current=1 ;;
    --venv=*) venv=${arg#--venv=} ;;
    -h|--help) sed -n '16,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) args+=("$arg") ;;
  esac
done

py=${PYTHON:-python3}
if ! command -v "$py" >/dev/null 2>&1; then
  echo "gpu_benchmark: no $py to run (set PYTHON)" >&2
  exit 2
fi
if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
  echo "gpu_benchmark: $py is older than Python 3.10, which setup.py needs" >&2
  exit 2
fi
if [ "$current" = 0 ]; then
  if [ ! -x "$venv/bin/python" ]; then
    echo "gpu_benchmark: creating the virtual environment $venv" >&2
    "$py" -m venv "$venv"
  fi
  py=$venv/bin/python
fi

if [ "$install" = 1 ]; then
  echo "gpu_benchmark: pip install into $("$py" -c 'import sys; print(sys.prefix)')" >&2
  "$py" -m pip install -q --upgrade pip
  if [ "$cpu" = 1 ]; then
    "$py" -m pip install -q -e .
  else
    # TensorFlow 2.16+ on Linux brings its CUDA and cuDNN as pip packages with
    # this extra: the machine needs only NVIDIA's driver.
    "$py" -m pip install -q -e . "tensorflow[and-cuda]>=2.16"
  fi
fi

exec "$py" scripts/gpu_table.py ${args[@]+"${args[@]}"}
