#!/bin/bash
# Every minute (cron, as postgres, on every node): the primary publishes how far each replica is
# behind, to CloudWatch namespace Tracker/Patroni (dimensions Cluster, and Node for each replica):
# ReplicationLagBytes (the WAL the primary has written that the replica has not replayed, per
# replica and, without Node, the maximum) and StreamingReplicas. Replicas publish nothing.
# Measured in bytes on the primary, not as `now() - pg_last_xact_replay_timestamp()` on the
# replica: that time grows while the primary is idle (nothing to replay), and a replica whose WAL
# receiver stopped sees no lag at all; the primary's view counts both receive and replay lag and is
# 0 when nothing is written. A replica that is not connected is missing from it: StreamingReplicas.
# Rendered by tracker-constructs (constructs/scripts/patroni-metrics.sh).
set -euo pipefail
# shellcheck source=lib.sh
. @@SCRIPT_DIR@@/lib.sh
query() {
  psql -XAtq -h /var/run/postgresql -p @@PORT@@ -d postgres -c "$1"
}
[ "$(query 'SELECT pg_is_in_recovery()')" = f ] || exit 0
metric_data=$(query "
WITH r AS (
  SELECT application_name AS node, state,
         pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) AS lag
  FROM pg_stat_replication WHERE replay_lsn IS NOT NULL
), cluster AS (
  SELECT json_build_object('Name', 'Cluster', 'Value', '@@CLUSTER@@') AS dimension
), data AS (
  SELECT json_build_object('MetricName', 'ReplicationLagBytes', 'Unit', 'Bytes', 'Value', lag,
    'Dimensions', json_build_array(dimension, json_build_object('Name', 'Node', 'Value', node))) AS d
  FROM r, cluster
  UNION ALL
  SELECT json_build_object('MetricName', 'ReplicationLagBytes', 'Unit', 'Bytes',
    'Value', COALESCE(MAX(lag), 0), 'Dimensions', json_build_array(MAX(dimension::text)::json))
  FROM r RIGHT JOIN cluster ON true
  UNION ALL
  SELECT json_build_object('MetricName', 'StreamingReplicas', 'Unit', 'Count',
    'Value', COUNT(*) FILTER (WHERE state = 'streaming'),
    'Dimensions', json_build_array(MAX(dimension::text)::json))
  FROM r RIGHT JOIN cluster ON true
)
SELECT json_agg(d) FROM data")
aws cloudwatch put-metric-data --region "$(imds placement/region)" \
  --namespace @@NAMESPACE@@ --metric-data "$metric_data"
