#!/bin/bash
# Nightly full backup (cron, as postgres, on every node): only the primary backs up; pgBackRest
# then expires backups beyond repo1-retention-full and their WAL. After a successful backup the
# primary publishes BackupSuccess = 1 (CloudWatch namespace Tracker/Patroni, dimension Cluster):
# the cluster alarms when none arrived for 26 hours.
# Rendered by tracker-constructs (constructs/scripts/pgbackrest-backup.sh).
set -euo pipefail
# shellcheck source=lib.sh
. @@SCRIPT_DIR@@/lib.sh
curl -sf -o /dev/null @@PATRONI_API@@/primary || exit 0
pgbackrest --stanza=@@STANZA@@ stanza-create
pgbackrest --stanza=@@STANZA@@ --type=full backup
aws cloudwatch put-metric-data --region "$(imds placement/region)" --namespace @@NAMESPACE@@ \
  --metric-name BackupSuccess --unit Count --value 1 --dimensions Cluster=@@STANZA@@
