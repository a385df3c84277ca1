#!/usr/bin/env bash
# Install the oldest dependency versions pyproject.toml allows (scripts/floors.py) in a throwaway
# venv, then run the unit tests and one real `qaagent run-all` against them.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$PYTHON" scripts/floors.py > "$work/floors.txt"
echo "dependency floors: $(tr '\n' ' ' < "$work/floors.txt")"
"$PYTHON" -m venv "$work/venv"
pip=("$work/venv/bin/python" -m pip --quiet --disable-pip-version-check)
"${pip[@]}" install -r "$work/floors.txt" pytest jsonschema xmlschema junitparser behave pytest-playwright \
    import-linter
"${pip[@]}" install --no-deps -e .
"${pip[@]}" check

"$work/venv/bin/python" -m pytest tests/unit -q -p no:cacheprovider

cp -r tests/fixtures/run_projects "$work/project"
(cd "$work/project" \
    && PATH="$work/venv/bin:$PATH" qaagent run-all --suite unit --suite lint --suite 'evals*')
