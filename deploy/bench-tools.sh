#!/usr/bin/env bash
# Debian's nginx and wrk, for bench/portal.py (the portal beside nginx serving the same HTML
# from disk, wrk for the highest rate). Idempotent and quiet: does nothing when both are
# installed; otherwise installs the packages from Debian (nginx's own service is not
# started: the bench runs its own instance with its own configuration).
set -euo pipefail
have() { command -v "$1" >/dev/null || [[ -x /usr/sbin/$1 ]]; }
if have nginx && have wrk; then
  exit 0
fi
SUDO=()
if [[ $(id -u) != 0 ]]; then SUDO=(sudo -n); fi
export DEBIAN_FRONTEND=noninteractive
echo "deploy/bench-tools.sh: installing Debian's nginx-light and wrk…" >&2
"${SUDO[@]}" apt-get update -qq >/dev/null
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends nginx-light wrk >/dev/null
/usr/sbin/nginx -v
wrk --version 2>&1 | head -1 || true
