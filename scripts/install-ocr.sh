#!/usr/bin/env bash
# Debian's Tesseract with its Japanese data, for extractors/readers/ocr/ (scanned PDFs).
# Idempotent and quiet: does nothing when tesseract and jpn.traineddata are already there.
set -euo pipefail
have_jpn() {
  command -v tesseract >/dev/null 2>&1 && tesseract --list-langs 2>/dev/null | grep -qx jpn
}
if have_jpn; then exit 0; fi
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
$SUDO apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
  tesseract-ocr tesseract-ocr-jpn >/dev/null
have_jpn || { echo "install-ocr.sh: tesseract with jpn data is still missing" >&2; exit 1; }
