#!/usr/bin/env bash
# Make sure a Chromium executable exists for the browser suites; never downloads Playwright's own.
set -euo pipefail

if [ -n "${QAAGENT_CHROMIUM:-}" ] && [ -x "${QAAGENT_CHROMIUM}" ]; then
    exit 0
fi
if command -v chromium >/dev/null 2>&1; then
    exit 0
fi

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"; else return 1; fi; }

if command -v apt-get >/dev/null 2>&1 \
    && as_root apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium >/dev/null; then
    exit 0
fi

cat >&2 <<'MSG'
No Chromium found for the browser suites, and Debian's `chromium` package could not be installed.
Point qaagent at a Chromium or Chrome executable with
    export QAAGENT_CHROMIUM=/path/to/chromium
or install Playwright's own browser with `.venv/bin/playwright install chromium`.
MSG
exit 1
