#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers on 127.0.0.1:5432 and lets user `postgres` in over TCP
# without a password (trust), installing Debian's `postgresql` and starting its cluster when
# needed. Idempotent: on a machine where that already holds it only checks. Needs root for the
# install/start/pg_hba paths (CI runs as root). Logs to stderr; the caller exports
# DATABASE_URL (see .ci/run).
set -euo pipefail

PGHOST_ADDR="${PGHOST_ADDR:-127.0.0.1}"
PGPORT_NUM="${PGPORT_NUM:-5432}"
PG_USER="${PG_USER:-postgres}"
PG_CLUSTER="${PG_CLUSTER:-main}"

log() { printf '[ensure-postgres] %s\n' "$*" >&2; }
die() { printf '[ensure-postgres] ERROR: %s\n' "$*" >&2; exit 1; }

is_ready() {
  command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h "$PGHOST_ADDR" -p "$PGPORT_NUM"
}

can_connect() {
  # -w: never prompt for a password; PGPASSWORD unset so only trust auth can succeed.
  env -u PGPASSWORD psql -w -X -q -h "$PGHOST_ADDR" -p "$PGPORT_NUM" -U "$PG_USER" -d postgres \
    -tAc 'select 1' >/dev/null 2>&1
}

# Newest installed major version, e.g. "15" (empty when no cluster config exists).
pg_version() {
  if [[ -d /etc/postgresql ]]; then
    ls /etc/postgresql | sort -V | tail -n 1
  fi
}

install_postgres() {
  log "installing Debian's postgresql (apt-get update && apt-get install -y postgresql)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q postgresql
}

start_cluster() {
  local ver
  ver="$(pg_version)"
  [[ -n "$ver" ]] || die "no cluster under /etc/postgresql after install"
  if [[ ! -d "/etc/postgresql/$ver/$PG_CLUSTER" ]]; then
    log "creating cluster $ver/$PG_CLUSTER"
    pg_createcluster --port "$PGPORT_NUM" "$ver" "$PG_CLUSTER"
  fi
  log "starting cluster $ver/$PG_CLUSTER"
  # Exit code 2 means "already running", which is fine.
  pg_ctlcluster --skip-systemctl-redirect "$ver" "$PG_CLUSTER" start || [[ $? -eq 2 ]]
}

wait_ready() {
  local i
  for i in $(seq 1 60); do
    is_ready && return 0
    sleep 0.5
  done
  return 1
}

ensure_trust_auth() {
  local ver hba line
  ver="$(pg_version)"
  [[ -n "$ver" ]] || die "cannot connect as $PG_USER and found no /etc/postgresql cluster to configure"
  hba="/etc/postgresql/$ver/$PG_CLUSTER/pg_hba.conf"
  [[ -f "$hba" ]] || die "cannot connect as $PG_USER and $hba does not exist"
  line="host all all ${PGHOST_ADDR}/32 trust"
  log "adding '$line' as the first rule of $hba"
  # pg_hba is first-match: the rule must come before any md5/scram line for the same address.
  cp "$hba" "$hba.bak-shopmesh"
  { printf '%s\n' "# added by shopmesh scripts/ensure-postgres.sh" "$line"; cat "$hba.bak-shopmesh"; } >"$hba"
  pg_ctlcluster --skip-systemctl-redirect "$ver" "$PG_CLUSTER" reload
  sleep 0.5
}

if ! command -v pg_ctlcluster >/dev/null 2>&1 || [[ -z "$(pg_version)" ]]; then
  if is_ready; then
    log "a server answers on $PGHOST_ADDR:$PGPORT_NUM but Debian's postgresql is not installed; using it"
  else
    install_postgres
  fi
fi

if ! is_ready; then
  start_cluster
  wait_ready || die "server on $PGHOST_ADDR:$PGPORT_NUM is not ready after 30 s"
fi
log "server on $PGHOST_ADDR:$PGPORT_NUM is accepting connections"

command -v psql >/dev/null 2>&1 || die "psql not found (install postgresql-client)"
if ! can_connect; then
  ensure_trust_auth
  can_connect || die "still cannot connect as $PG_USER to $PGHOST_ADDR:$PGPORT_NUM without a password"
fi
log "user $PG_USER connects over TCP with trust auth: $(psql -w -X -h "$PGHOST_ADDR" -p "$PGPORT_NUM" -U "$PG_USER" -d postgres -tAc 'show server_version')"
