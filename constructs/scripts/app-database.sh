#!/bin/bash
# app-database.sh CONNINFO: creates the application role and database (idempotent) and the
# extensions, connected as a superuser with CONNINFO. The role's password comes from
# APP_PASSWORD in the file $APP_DATABASE_ENV (default /etc/tracker/app-database.env, 0600),
# written at boot from Secrets Manager; it reaches psql on stdin, never in argv.
# Rendered by tracker-constructs (constructs/scripts/app-database.sh).
set -euo pipefail
# shellcheck source=/dev/null
. "${APP_DATABASE_ENV:-/etc/tracker/app-database.env}"
psql -v ON_ERROR_STOP=1 --set=app_user=@@APP_USER@@ --set=app_db=@@DATABASE@@ "$1" <<SQL
\set app_pw '$APP_PASSWORD'
SELECT format('CREATE ROLE %I LOGIN', :'app_user')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app_user') \gexec
ALTER ROLE :"app_user" LOGIN PASSWORD :'app_pw';
SELECT format('CREATE DATABASE %I OWNER %I', :'app_db', :'app_user')
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'app_db') \gexec
\connect :"app_db"
@@CREATE_EXTENSIONS@@
SQL
