#!/bin/bash
# Functions shared by the data-plane boot scripts (sourced, not run). Part of tracker-constructs
# (constructs/scripts/lib.sh); no placeholders.

# start_boot: logs to /var/log/tracker-boot.log, reads the deploy-time values from
# /etc/tracker/dataplane.env (written by the user data) and sets the AWS CLI's region.
start_boot() {
  exec > >(tee -a /var/log/tracker-boot.log) 2>&1
  export DEBIAN_FRONTEND=noninteractive
  # shellcheck source=/dev/null
  . /etc/tracker/dataplane.env
  export AWS_DEFAULT_REGION="$AWS_REGION"
}

# imds PATH: instance metadata (IMDSv2), e.g. `imds instance-id`.
imds() {
  local token
  token=$(curl -fsS -X PUT http://169.254.169.254/latest/api/token \
    -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')
  curl -fsS -H "X-aws-ec2-metadata-token: $token" "http://169.254.169.254/latest/meta-data/$1"
}

# secret ARN: the secret's string (Secrets Manager).
secret() {
  aws secretsmanager get-secret-value --secret-id "$1" --query SecretString --output text
}

# secret_password ARN: the `password` field of a JSON secret; fails when it is missing or empty.
secret_password() {
  local value
  # Explicit checks: errexit does not reach into the $(...) this runs in.
  value=$(secret "$1" | jq -er .password) || { echo "cannot read secret $1" >&2; return 1; }
  [ -n "$value" ] || { echo "secret $1 has an empty password" >&2; return 1; }
  printf '%s' "$value"
}

# secret_env FILE OWNER NAME ARN [NAME ARN ...]: writes NAME='<password of the JSON secret ARN>'
# lines to FILE, mode 0600, owned by OWNER (user:group), for systemd's EnvironmentFile and bash.
# Fails (before writing the line) when a secret cannot be read.
secret_env() {
  local file=$1 owner=$2 value
  shift 2
  install -m 0600 -o "${owner%%:*}" -g "${owner##*:}" /dev/null "$file"
  while [ $# -ge 2 ]; do
    value=$(secret_password "$2")
    printf "%s='%s'\n" "$1" "$value" >>"$file"
    shift 2
  done
}

# install_base_tools: curl, jq, gnupg and the AWS CLI (a snap on Ubuntu 24.04).
install_base_tools() {
  apt-get update
  apt-get install -y ca-certificates curl gnupg lsb-release jq
  snap install aws-cli --classic
  export PATH="$PATH:/snap/bin"
}

# add_postgres_repositories: PGDG (PostgreSQL, PostGIS) and Timescale's packagecloud
# repository, each with its own signing key.
add_postgres_repositories() {
  local codename
  codename=$(lsb_release -cs)
  install -d /usr/share/postgresql-common/pgdg /etc/apt/keyrings /etc/postgresql-common
  curl -fsSL -o /usr/share/postgresql-common/pgdg/apt.postgresql.org.asc \
    https://www.postgresql.org/media/keys/ACCC4CF8.asc
  echo "deb [signed-by=/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc] https://apt.postgresql.org/pub/repos/apt $codename-pgdg main" \
    >/etc/apt/sources.list.d/pgdg.list
  curl -fsSL https://packagecloud.io/timescale/timescaledb/gpgkey |
    gpg --dearmor --yes -o /etc/apt/keyrings/timescaledb.gpg
  echo "deb [signed-by=/etc/apt/keyrings/timescaledb.gpg] https://packagecloud.io/timescale/timescaledb/ubuntu/ $codename main" \
    >/etc/apt/sources.list.d/timescaledb.list
  # No default cluster: Patroni (production) or the boot script (staging) creates it.
  echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.conf
  apt-get update
}

# install_packages PACKAGE...: installs without starting any service (policy-rc.d) and keeps
# the configuration files already written (--force-confold).
install_packages() {
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod 0755 /usr/sbin/policy-rc.d
  apt-get install -y -o Dpkg::Options::=--force-confold "$@"
  rm -f /usr/sbin/policy-rc.d
}

# apply_owners: chown every file listed in /etc/tracker/owners (`owner path` lines), once the
# packages have created the users.
apply_owners() {
  local owner path
  while read -r owner path; do
    case $owner in '#'* | '') continue ;; esac
    chown "$owner" "$path"
  done </etc/tracker/owners
}

# attach_and_mount VOLUME_ID DEVICE MOUNTPOINT: attaches the EBS volume to this instance once it
# is available (a replaced instance may still hold it: waits up to 30 minutes), formats it only
# when it has no file system, and mounts it by UUID with nofail.
attach_and_mount() {
  local volume=$1 device=$2 mountpoint=$3 instance attached state disk uuid
  instance=$(imds instance-id)
  disk="/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${volume//-/}"
  attached=$(aws ec2 describe-volumes --volume-ids "$volume" \
    --query 'Volumes[0].Attachments[0].InstanceId' --output text)
  if [ "$attached" != "$instance" ]; then
    for _ in $(seq 1 180); do
      state=$(aws ec2 describe-volumes --volume-ids "$volume" --query 'Volumes[0].State' --output text)
      [ "$state" = available ] && break
      sleep 10
    done
    aws ec2 attach-volume --volume-id "$volume" --instance-id "$instance" --device "$device"
  fi
  for _ in $(seq 1 60); do
    [ -e "$disk" ] && break
    sleep 5
  done
  [ -e "$disk" ] || { echo "volume $volume did not appear at $disk" >&2; return 1; }
  if [ -z "$(blkid -o value -s TYPE "$disk" || true)" ]; then
    mkfs.ext4 -q "$disk"
  fi
  uuid=$(blkid -o value -s UUID "$disk")
  mkdir -p "$mountpoint"
  grep -q "UUID=$uuid" /etc/fstab ||
    echo "UUID=$uuid $mountpoint ext4 defaults,noatime,nofail 0 2" >>/etc/fstab
  mountpoint -q "$mountpoint" || mount "$mountpoint"
}

# install_cloudwatch_agent CONFIG: the CloudWatch agent (disk use for the alarms) with CONFIG.
# Amazon publishes no signed apt repository for it: a failed download is reported, not fatal,
# so the database still comes up (the disk alarm then reports missing data).
install_cloudwatch_agent() {
  local deb=/tmp/amazon-cloudwatch-agent.deb
  if curl -fsSL -o "$deb" \
    "https://amazoncloudwatch-agent.s3.amazonaws.com/ubuntu/$(dpkg --print-architecture)/latest/amazon-cloudwatch-agent.deb" &&
    apt-get install -y "$deb"; then
    /opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s \
      -c "file:$1"
  else
    echo "warning: CloudWatch agent not installed; the disk alarm will see missing data" >&2
  fi
}
