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

# Debian packages the tests use: chromium for the browser tests (Playwright's own browser
# download does not work offline), postgresql for the shared-study search test.
debs=""
command -v chromium >/dev/null 2>&1 || debs="$debs chromium"
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || debs="$debs postgresql"
if [ $dev = 1 ] && [ -n "$debs" ]; then
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq $debs >/dev/null
fi
