#!/bin/bash
# PatroniCluster node, first boot (run once by the user data, as root): volumes, packages from
# signed repositories, owners, TLS certificate, secrets, the backup repository, then etcd and
# Patroni. Every configuration file was written by the user data before this runs.
# Rendered by tracker-constructs (constructs/scripts/patroni-boot.sh).
set -euo pipefail
# shellcheck source=lib.sh
. @@SCRIPT_DIR@@/lib.sh
# Log, and the deploy-time values: AWS_REGION, AWS_URL_SUFFIX, the volume ids, BACKUP_BUCKET, *_SECRET_ARN.
start_boot
PG_VERSION=@@PG_VERSION@@

install_base_tools
attach_and_mount "$DATA_VOLUME_ID" /dev/sdf /var/lib/postgresql
attach_and_mount "$ETCD_VOLUME_ID" /dev/sdg /var/lib/etcd
add_postgres_repositories
install_packages "postgresql-$PG_VERSION" "postgresql-$PG_VERSION-postgis-3" \
  "postgresql-$PG_VERSION-postgis-3-scripts" "timescaledb-2-postgresql-$PG_VERSION" \
  patroni etcd-server pgbackrest
# Patroni runs PostgreSQL; the packaged units stay off.
systemctl disable postgresql || true
chown postgres:postgres /var/lib/postgresql
chown etcd:etcd /var/lib/etcd
chmod 0700 /var/lib/etcd
install -d -o postgres -g postgres -m 0750 /var/log/pgbackrest /var/log/postgresql
apply_owners

@@SCRIPT_DIR@@/make-cert.sh /var/lib/postgresql/tls postgres:postgres
# Patroni's watchdog (mode automatic: a missing module only costs the guard).
if modprobe softdog; then
  udevadm trigger --subsystem-match=misc --action=add || true
  chown postgres:postgres /dev/watchdog || true
else
  echo "warning: softdog not loaded; Patroni runs without a watchdog" >&2
fi

# Passwords: Patroni reads them from its EnvironmentFile; the application's for post_bootstrap.
secret_env /etc/patroni/secrets.env postgres:postgres \
  PATRONI_SUPERUSER_PASSWORD "$SUPERUSER_SECRET_ARN" \
  PATRONI_REPLICATION_PASSWORD "$REPLICATION_SECRET_ARN" \
  PATRONI_REWIND_PASSWORD "$REWIND_SECRET_ARN" \
  PATRONI_RESTAPI_PASSWORD "$RESTAPI_SECRET_ARN"
secret_env /etc/tracker/app-database.env postgres:postgres APP_PASSWORD "$APP_SECRET_ARN"

# The backup repository's location (deploy-time values); credentials from the instance role.
install -d -m 0750 -o root -g postgres /etc/pgbackrest/conf.d
install -m 0640 -o root -g postgres /dev/null /etc/pgbackrest/conf.d/repo.conf
cat >/etc/pgbackrest/conf.d/repo.conf <<CONF
[global]
repo1-s3-bucket=$BACKUP_BUCKET
repo1-s3-region=$AWS_REGION
repo1-s3-endpoint=s3.$AWS_REGION.$AWS_URL_SUFFIX
repo1-s3-key-type=auto
CONF

systemctl daemon-reload
# etcd waits for a quorum of the three nodes: do not block the boot on it.
systemctl enable etcd
systemctl start --no-block etcd
systemctl enable --now patroni

install_cloudwatch_agent /etc/tracker/cloudwatch-agent.json
echo "PatroniCluster node ready: etcd and Patroni started"
