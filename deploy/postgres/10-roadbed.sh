#!/bin/sh
# Runs once, when the PostgreSQL volume is first initialised (docker-entrypoint-initdb.d): the superuser
# (POSTGRES_USER, Temporal's, whose schema temporal-sql-tool sets up) creates Roadbed's own role and databases, so
# the engine never holds Temporal's credentials. `roadbed` is the engine database; `roadbed_terraform` holds
# Terraform state when ROADBED_TERRAFORM_BACKEND=pg. The password comes from .env through the environment, never
# from this file. Changing ROADBED_DB_PASSWORD later needs `ALTER ROLE roadbed PASSWORD ...` (this does not rerun).
set -eu
: "${ROADBED_DB_PASSWORD:?ROADBED_DB_PASSWORD must be set (see .env.example)}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v roadbed_password="$ROADBED_DB_PASSWORD" <<'SQL'
CREATE ROLE roadbed LOGIN PASSWORD :'roadbed_password';
CREATE DATABASE roadbed OWNER roadbed;
CREATE DATABASE roadbed_terraform OWNER roadbed;
REVOKE ALL ON DATABASE roadbed FROM PUBLIC;
REVOKE ALL ON DATABASE roadbed_terraform FROM PUBLIC;
SQL
