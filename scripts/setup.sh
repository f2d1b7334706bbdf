#!/usr/bin/env bash
# Sets up a fresh machine for sattn-dash: a virtual environment with the pinned packages,
# and with --dev also the test tools and Debian's chromium for the browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
dev=0
[ "${1:-}" = "--dev" ] && dev=1

python3 -m venv .venv
req=requirements.txt
[ $dev = 1 ] && req=requirements-dev.txt
.venv/bin/pip install --quiet --disable-pip-version-check -r "$req"

if [ $dev = 1 ] && ! command -v chromium >/dev/null 2>&1; then
  # Playwright's own browser download does not work offline; Debian's chromium does.
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium >/dev/null
fi
