#!/bin/bash
# Nightly full backup (cron, as postgres, on every node): only the primary backs up; pgBackRest
# then expires backups beyond repo1-retention-full and their WAL.
# Rendered by tracker-constructs (constructs/scripts/pgbackrest-backup.sh).
set -euo pipefail
curl -sf -o /dev/null @@PATRONI_API@@/primary || exit 0
pgbackrest --stanza=@@STANZA@@ stanza-create
pgbackrest --stanza=@@STANZA@@ --type=full backup
