#!/usr/bin/env bash
# Installs the system packages kakou's demo and tests need, only where missing (Debian/Ubuntu).
#   mosquitto           MQTT broker (demo default; tests start their own on a free port)
#   fonts-wqy-microhei  CJK font: the camera simulator renders Chinese plates with it
#   socat, mbpoll       third-party peers that prove the simulators speak the real protocols
#   chromium            the browser the UI tests drive (Playwright, no browser download)
#   wrk                 HTTP load generator for central's 200-client API bench (a Python client
#                       would take a good part of the CPU the server is measured on)
set -euo pipefail
need=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need+=(fonts-wqy-microhei)
command -v socat >/dev/null 2>&1 || need+=(socat)
command -v mbpoll >/dev/null 2>&1 || need+=(mbpoll)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
echo "installing system packages: ${need[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: apt-get not found; install these packages yourself: ${need[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq || true
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
