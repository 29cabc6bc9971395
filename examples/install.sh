#!/usr/bin/env bash
# Install the example plugins (each its own distribution) into the current environment,
# so `dftk plugins` lists them. CI can call: bash examples/install.sh
# Extra pip arguments are passed through (e.g. --target DIR for a throw-away install).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
PIP="${PIP:-python -m pip}"
for dir in "$here"/*/; do
    if [ -f "$dir/pyproject.toml" ]; then
        $PIP install --no-deps --no-build-isolation "$@" "$dir"
    fi
done
