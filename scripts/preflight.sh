#!/usr/bin/env bash
# Runs preflight (cmd/preflight) on one environment of the synthesized assembly infra/cdk.out; `make preflight`
# synthesizes first and calls this with its variables:
#   ENV=<name>        the environment (its stacks are ecsr-<name>-*)
#   BASELINE=<dir>    what is deployed now: a cloud assembly, or a directory of <stackName>.template.json files
#                     (for example from `aws cloudformation get-template`); enables the update-safety rules
#   BASE=<git ref>    synthesize that ref in a temporary git worktree and use its assembly as the baseline
#   DEPLOY=1          deploy mode: the deploy-only rules (placeholders) fail instead of printing notices
set -euo pipefail
cd "$(dirname "$0")/.."
env=${ENV:?set ENV=<environment>}
baseline=${BASELINE:-}
go=${GO:-go}

if [ -n "${BASE:-}" ]; then
  if [ -n "$baseline" ]; then
    echo "preflight: set BASE or BASELINE, not both" >&2
    exit 2
  fi
  tmp=$(mktemp -d)
  trap 'git worktree remove --force "$tmp/base" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
  git worktree add --quiet --detach "$tmp/base" "$BASE"
  echo "preflight: synthesizing $BASE as the baseline"
  # Share this checkout's caches (jsii packages) so the second synthesis does not fetch them again.
  make --no-print-directory -C "$tmp/base" synth CACHE="$PWD/.cache" GO="$go"
  baseline="$tmp/base/infra/cdk.out"
fi

args=(-env "$env" -assembly infra/cdk.out -env-file "infra/environments/$env.yaml")
if [ -n "$baseline" ]; then
  bash scripts/deps.sh preflight
  args+=(-baseline "$baseline")
fi
if [ -n "${DEPLOY:-}" ] && [ "${DEPLOY}" != 0 ]; then
  args+=(-deploy)
fi
"$go" run ./cmd/preflight "${args[@]}"
