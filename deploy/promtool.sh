#!/usr/bin/env bash
# Debian's promtool (package `prometheus`), for the alert rules' tests
# (tests/deploy/test_monitoring.py: `promtool check rules` and `promtool test rules`).
# Idempotent and quiet: does nothing when promtool is installed; otherwise installs the
# package from Debian (the server it also brings is not started here).
set -euo pipefail
if command -v promtool >/dev/null; then
  exit 0
fi
SUDO=()
if [[ $(id -u) != 0 ]]; then SUDO=(sudo -n); fi
export DEBIAN_FRONTEND=noninteractive
echo "deploy/promtool.sh: installing Debian's prometheus package for promtool…" >&2
"${SUDO[@]}" apt-get update -qq >/dev/null
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends prometheus >/dev/null
promtool --version | head -1
