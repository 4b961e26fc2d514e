#!/usr/bin/env bash
# Installs Debian's chromium for the browser tests of the web console (driven by playwright-core,
# which never downloads a browser of its own). Does nothing when /usr/bin/chromium is present.
# Needs root (or passwordless sudo) for apt-get; prints why and exits 1 otherwise.
set -euo pipefail
CHROMIUM=/usr/bin/chromium
if [ -x "$CHROMIUM" ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
  else
    echo "setup-browser: $CHROMIUM is missing and installing it needs root: apt-get install -y chromium" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
test -x "$CHROMIUM"
echo "setup-browser: installed $("$CHROMIUM" --version 2>/dev/null || echo chromium)"
