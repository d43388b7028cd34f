#!/usr/bin/env bash
# Debian's headless Chromium and Japanese fonts, for tools/screenshot_report.py.
set -euo pipefail
if command -v chromium >/dev/null && fc-list 2>/dev/null | grep -qiE "noto sans cjk|ipaex"; then exit 0; fi
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk
