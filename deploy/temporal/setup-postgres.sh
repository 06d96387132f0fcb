#!/bin/sh
# Temporal's schema on PostgreSQL, as temporalio/samples-server's compose does it: temporal-sql-tool (in
# temporalio/admin-tools) creates the `temporal` and `temporal_visibility` databases and brings each to the newest
# versioned schema shipped with the image. Idempotent: `create` on an existing database and `setup-schema -v 0.0` on
# a set-up one are no-ops, `update-schema` applies only what is missing, so every `docker compose up` may run it.
set -eu
: "${POSTGRES_SEEDS:?}" "${POSTGRES_USER:?}" "${SQL_PASSWORD:?}"
port="${DB_PORT:-5432}"
tool() { temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -u "$POSTGRES_USER" -p "$port" "$@"; }

for db in temporal temporal_visibility; do
  case "$db" in
    temporal) schema=/etc/temporal/schema/postgresql/v12/temporal/versioned ;;
    *) schema=/etc/temporal/schema/postgresql/v12/visibility/versioned ;;
  esac
  tool --db "$db" create || true   # fails only because it exists; the next two steps fail loudly on a real error
  tool --db "$db" setup-schema -v 0.0
  tool --db "$db" update-schema -d "$schema"
done
echo "Temporal schema on PostgreSQL is up to date"
