#!/usr/bin/env bash
# Installs what a fresh machine may lack. Safe to run again: it only installs what is missing.
#   scripts/deps.sh up     what `make up` needs: PostgreSQL 15 server binaries
#   scripts/deps.sh diagram  graphviz, for `make diagram`
#   scripts/deps.sh preflight  the pinned CloudFormation resource specification, for `make preflight`
#   scripts/deps.sh        what the tests need as well: Chromium, the AWS CLI, shellcheck, graphviz, pinned node packages
set -euo pipefail
scope=${1:-test}
cd "$(dirname "$0")/.."

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=
apt_install() {
  if [ -z "$apt_updated" ]; then sudo_if_needed apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get install -y -qq "$@" >/dev/null
}

npm_ci() { # npm_ci DIR: install the pinned node packages of DIR when they are missing or stale.
  local dir=$1
  [ -f "$dir/package-lock.json" ] || return 0
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    echo "deps: npm ci in $dir"
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
  fi
}

# The CloudFormation resource specification preflight's update-safety rules read (and its tests).
if [ "$scope" = preflight ]; then
  npm_ci infra/_spec
  exit 0
fi

if [ ! -x /usr/lib/postgresql/15/bin/postgres ]; then
  echo "deps: installing PostgreSQL 15 server binaries"
  apt_install postgresql
fi

if [ "$scope" = diagram ]; then
  command -v dot >/dev/null 2>&1 || { echo "deps: installing graphviz"; apt_install graphviz; }
  exit 0
fi
[ "$scope" = up ] && exit 0

# Debian's AWS CLI is an independent client for the embedded SQS endpoint's query protocol.
if [ ! -x /usr/bin/aws ]; then
  echo "deps: installing the AWS CLI (Debian's awscli)"
  apt_install awscli
fi

# shellcheck lints the workflows' and scripts' shell (internal/tools/workflowcheck); without it that check is skipped.
if ! command -v shellcheck >/dev/null 2>&1; then
  echo "deps: installing shellcheck"
  apt_install shellcheck
fi

# Graphviz renders the diagram that `make service` regenerates, which the scaffold's end-to-end test runs.
if ! command -v dot >/dev/null 2>&1; then
  echo "deps: installing graphviz"
  apt_install graphviz
fi

# Debian's Chromium runs the web UI's end-to-end test.
if ! command -v chromium >/dev/null 2>&1; then
  echo "deps: installing Chromium"
  apt_install chromium
fi

npm_ci test/referee
npm_ci infra/_spec
# The pinned source of certs/rds-global-bundle.pem; internal/tools/imagecheck checks the committed bundle against it.
npm_ci certs
