#!/usr/bin/env bash
# What the workbench's browser tests need besides chromium (deploy/chromium.sh):
# 1. a CJK font, or every Chinese character in a screenshot is a box (deploy/fonts.sh:
#    Debian's fonts-noto-cjk, apt, never a downloaded font);
# 2. axe-core, pinned in deploy/browser/package-lock.json (version and integrity hash),
#    installed with `npm ci` into deploy/browser/node_modules; the tests inject it into
#    the page under test. Never served to users, never a CDN.
# Idempotent and quiet: does nothing when both are there.
set -euo pipefail
cd "$(dirname "$0")"
bash fonts.sh
AXE=browser/node_modules/axe-core/axe.min.js
STAMP=browser/node_modules/.lock-$(cksum <browser/package-lock.json | cut -d' ' -f1)
if [[ ! -f $AXE || ! -f $STAMP ]]; then
  npm ci --prefix browser --no-audit --no-fund --silent >/dev/null
  touch "$STAMP"
fi
