#!/usr/bin/env bash
# One database and one login role per service, both named <prefix>_<service> (shopmesh_auth, …):
# the role owns its database and nothing else, is no superuser and cannot create roles or
# databases, and no other role may connect to that database (CONNECT is revoked from PUBLIC), so
# no service can read another's data: auth's signing keys are readable by shopmesh_auth alone.
# Each role's password comes from DB_PASSWORD_<SERVICE> (e.g. DB_PASSWORD_ORDER). Idempotent:
# roles and databases that exist are brought to this state, passwords reset.
#
# docker-compose.yml runs it when the Postgres volume is first created (as an initdb script); the
# Helm chart's database Job runs it against PG_ADMIN_URL, a URL of a user that may create roles
# and databases (e.g. the server's postgres user). SHOPMESH_DB_PREFIX changes the prefix.
set -euo pipefail

SERVICES=(auth catalog cart order payment notification)
PREFIX="${SHOPMESH_DB_PREFIX:-shopmesh}"
conn=()
if [[ -n "${PG_ADMIN_URL:-}" ]]; then conn=("$PG_ADMIN_URL"); fi

for service in "${SERVICES[@]}"; do
  password_var="DB_PASSWORD_${service^^}"
  password="${!password_var:?set $password_var to the password of the database role of ${service}}"
  name="${PREFIX}_${service}"
  psql "${conn[@]}" -v ON_ERROR_STOP=1 -q -v name="$name" -v password="$password" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'name') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'name')
\gexec
ALTER ROLE :"name" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'password';
SELECT format('CREATE DATABASE %I OWNER %I', :'name', :'name') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'name')
\gexec
ALTER DATABASE :"name" OWNER TO :"name";
REVOKE ALL ON DATABASE :"name" FROM PUBLIC;
GRANT CONNECT, TEMPORARY, CREATE ON DATABASE :"name" TO :"name";
SQL
  echo "role and database ${name}"
done
