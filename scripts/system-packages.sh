#!/usr/bin/env bash
# Debian packages the test suite needs (pdfsig from poppler-utils, Chromium for browser
# tests, PostgreSQL for the scale-out run). Installs only what is missing; needs root.
set -euo pipefail
need=()
command -v pdfsig >/dev/null 2>&1 || need+=(poppler-utils)
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/bin/ffmpeg ] || need+=(ffmpeg)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
# WeasyPrint subsets fonts ten times faster with HarfBuzz's subsetter.
ldconfig -p 2>/dev/null | grep libharfbuzz-subset >/dev/null || need+=(libharfbuzz-subset0)
fc-list 2>/dev/null | grep -i "Noto Sans CJK" >/dev/null || need+=(fonts-noto-cjk)
# The evidence report sets hashes and ids in DejaVu Sans Mono.
fc-list 2>/dev/null | grep -i "DejaVu Sans Mono" >/dev/null || need+=(fonts-dejavu-core)
[ ${#need[@]} -eq 0 ] && exit 0
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "Missing system packages: ${need[*]} (install them with your package manager)" >&2
  exit 1
fi
echo "Installing system packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
