#!/bin/bash
# StagingDataHost, first boot (run once by the user data, as root): the data volume, packages
# from signed repositories, owners, TLS certificate, PostgreSQL (TimescaleDB, PostGIS) and
# Valkey on the data volume, the application database from Secrets Manager.
# Rendered by tracker-constructs (constructs/scripts/staging-boot.sh).
set -euo pipefail
# shellcheck source=lib.sh
. @@SCRIPT_DIR@@/lib.sh
# Log, and the deploy-time values: AWS_REGION, DATA_VOLUME_ID, *_SECRET_ARN.
start_boot
PG_VERSION=@@PG_VERSION@@
DATA_MOUNT=@@DATA_MOUNT@@

install_base_tools
attach_and_mount "$DATA_VOLUME_ID" /dev/sdf "$DATA_MOUNT"
add_postgres_repositories
install_packages "postgresql-$PG_VERSION" "postgresql-$PG_VERSION-postgis-3" \
  "postgresql-$PG_VERSION-postgis-3-scripts" "timescaledb-@@TIMESCALEDB_MAJOR@@-postgresql-$PG_VERSION" \
  valkey-server
install -d -o postgres -g postgres -m 0700 "$DATA_MOUNT/postgresql"
install -d -o valkey -g valkey -m 0750 "$DATA_MOUNT/valkey"
apply_owners
systemctl daemon-reload
PRIVATE_IP=$(imds local-ipv4)

# --- PostgreSQL: data on the volume, TLS, the rendered settings and pg_hba ----------------
@@SCRIPT_DIR@@/make-cert.sh "$DATA_MOUNT/postgresql/tls" postgres:postgres
if [ ! -d "/etc/postgresql/$PG_VERSION/main" ]; then
  # Adopts an existing data directory (a re-attached volume) or initializes a new one.
  pg_createcluster "$PG_VERSION" main --datadir="$DATA_MOUNT/postgresql/$PG_VERSION/main" \
    -- --auth-local=peer --auth-host=scram-sha-256
fi
CONF_D="/etc/postgresql/$PG_VERSION/main/conf.d"
install -m 0644 /etc/tracker/postgresql/50-tracker.conf "$CONF_D/50-tracker.conf"
echo "listen_addresses = 'localhost,$PRIVATE_IP'" >"$CONF_D/60-address.conf"
systemctl enable "postgresql@$PG_VERSION-main"
systemctl restart "postgresql@$PG_VERSION-main"

# Roles and database: passwords from Secrets Manager, on stdin only.
secret_env /etc/tracker/app-database.env postgres:postgres \
  APP_PASSWORD "$APP_SECRET_ARN" SUPERUSER_PASSWORD "$PG_SUPERUSER_SECRET_ARN"
# shellcheck source=/dev/null
. /etc/tracker/app-database.env
sudo -u postgres psql -v ON_ERROR_STOP=1 <<SQL
\set pw '$SUPERUSER_PASSWORD'
ALTER ROLE postgres PASSWORD :'pw';
SQL
sudo -u postgres @@SCRIPT_DIR@@/app-database.sh "dbname=postgres"

# --- Valkey: the rendered settings, then this host's address, password and memory ---------
echo "vm.overcommit_memory = 1" >/etc/sysctl.d/60-valkey.conf
sysctl --system
VALKEY_PASSWORD=$(secret "$VALKEY_SECRET_ARN")
[ -n "$VALKEY_PASSWORD" ] || { echo "the Valkey secret is empty" >&2; exit 1; }
MEM_KB=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
install -m 0640 -o root -g valkey /dev/null /etc/valkey/tracker-boot.conf
{
  echo "bind $PRIVATE_IP 127.0.0.1"
  echo "requirepass $VALKEY_PASSWORD"
  echo "maxmemory $((MEM_KB / 4 / 1024))mb"
} >/etc/valkey/tracker-boot.conf
grep -q '^include /etc/valkey/tracker.conf' /etc/valkey/valkey.conf ||
  echo "include /etc/valkey/tracker.conf" >>/etc/valkey/valkey.conf
systemctl enable valkey-server
systemctl restart valkey-server

install_cloudwatch_agent /etc/tracker/cloudwatch-agent.json
echo "staging data host ready: PostgreSQL $PG_VERSION, Valkey on @@VALKEY_PORT@@"
