#!/usr/bin/env bash
# A Chinese (CJK) font from Debian's packages: fonts-noto-cjk (apt, never a downloaded
# font). The workbench embeds it in the letters' PDF files (services/workbench/letter_pdf.py)
# and the browser tests need it, or every Chinese character in a screenshot is a box.
# Idempotent and quiet: does nothing when the package's Serif face (the letters' text
# face) is there. Exit 1 if it cannot install.
set -euo pipefail
if [[ -f /usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc ]]; then
  exit 0
fi
command -v apt-get >/dev/null || { echo "fonts.sh: no apt-get here; install a CJK font (fonts-noto-cjk)" >&2; exit 1; }
SUDO=()
if [[ $(id -u) != 0 ]]; then SUDO=(sudo -n); fi
export DEBIAN_FRONTEND=noninteractive
echo "fonts.sh: installing Debian's fonts-noto-cjk (about 60 MB)…" >&2
"${SUDO[@]}" apt-get update -qq >/dev/null
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends fonts-noto-cjk >/dev/null
