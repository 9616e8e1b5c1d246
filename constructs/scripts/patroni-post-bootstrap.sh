#!/bin/bash
# Patroni's post_bootstrap: run once, by the node that initialized the cluster, as postgres,
# with a superuser connection string as $1: the application database, then the pgBackRest
# stanza (retried by every nightly backup if the bucket is not reachable yet).
# Rendered by tracker-constructs (constructs/scripts/patroni-post-bootstrap.sh).
set -euo pipefail
@@SCRIPT_DIR@@/app-database.sh "$1"
pgbackrest --stanza=@@STANZA@@ stanza-create ||
  echo "warning: pgbackrest stanza-create failed; the nightly backup retries it" >&2
