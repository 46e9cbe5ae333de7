#!/usr/bin/env bash
# Makes sure /usr/bin/chromium (Debian's `chromium` package) is there for the storefront's browser
# tests, which drive it with playwright-core. Installs it with apt-get when missing. Idempotent;
# needs root for the install (CI runs as root). Logs to stderr.
set -euo pipefail

log() { printf '[ensure-chromium] %s\n' "$*" >&2; }
die() { printf '[ensure-chromium] ERROR: %s\n' "$*" >&2; exit 1; }

chromium=/usr/bin/chromium
if [[ ! -x "$chromium" ]]; then
  log "installing Debian's chromium package (apt-get update && apt-get install -y --no-install-recommends chromium)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q && apt-get install -y -q --no-install-recommends chromium || die "apt-get failed"
  [[ -x "$chromium" ]] || die "the chromium package installed no $chromium"
fi
log "$("$chromium" --version 2>/dev/null | head -n 1)"
