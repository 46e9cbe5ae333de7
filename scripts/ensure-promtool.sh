#!/usr/bin/env bash
# Makes sure `promtool` (Prometheus' checker of metrics output and rule files) is on PATH,
# installing Debian's `prometheus` package, which ships it, when it is missing. The package's
# server is not wanted: its service is kept from starting during the install. Idempotent; needs
# root for the install (CI runs as root). Logs to stderr.
set -euo pipefail

log() { printf '[ensure-promtool] %s\n' "$*" >&2; }
die() { printf '[ensure-promtool] ERROR: %s\n' "$*" >&2; exit 1; }

if ! command -v promtool >/dev/null 2>&1; then
  log "installing Debian's prometheus package for promtool (apt-get update && apt-get install -y --no-install-recommends prometheus)"
  export DEBIAN_FRONTEND=noninteractive
  # Keep the package's Prometheus server from being started: only its promtool is used.
  policy=/usr/sbin/policy-rc.d
  placed_policy=""
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    placed_policy=1
  fi
  status=0
  { apt-get update -q && apt-get install -y -q --no-install-recommends prometheus; } || status=$?
  [[ -n "$placed_policy" ]] && rm -f "$policy"
  ((status == 0)) || die "apt-get failed (exit $status)"
  command -v promtool >/dev/null 2>&1 || die "the prometheus package installed no promtool"
fi
log "$(promtool --version 2>&1 | head -n 1)"
