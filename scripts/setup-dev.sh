#!/usr/bin/env bash
# Install everything the tests need into .venv (the package with its `engine` and `test`
# extras) and checkov into .venv-checkov: checkov depends on bc-python-hcl2, which installs
# over python-hcl2's `hcl2` package, so the two cannot share one environment.
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-python3}"

"$python" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -c constraints.txt -e '.[engine,local,test]'

"$python" -m venv .venv-checkov
.venv-checkov/bin/python -m pip install --quiet -c constraints-checkov.txt 'checkov>=3.2'
ln -sf ../../.venv-checkov/bin/checkov .venv/bin/checkov
echo "ready: .venv (platformctl, tests) and .venv-checkov (checkov, linked as .venv/bin/checkov)"
