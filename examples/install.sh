#!/usr/bin/env bash
# Install the example plugins (each its own distribution) into the current environment,
# so `dftk plugins` lists them. `make test` runs this with the venv's pip (see the Makefile).
# Extra pip arguments are passed through (e.g. --no-index, or --target DIR for a throw-away install).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
PIP="${PIP:-python -m pip}"
# pip builds in the source tree (build/, *.egg-info): build clean copies, leave the checkout alone.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for dir in "$here"/*/; do
    if [ -f "$dir/pyproject.toml" ]; then
        copy="$work/$(basename "$dir")"
        cp -R "$dir" "$copy"
        rm -rf "$copy/build" "$copy"/*.egg-info
        $PIP install --no-deps --no-build-isolation "$@" "$copy"
    fi
done
