#!/usr/bin/env bash
# Deploys one environment in the order of docs/runbook.md ("Deploy steps"): the workflows and `make deploy` both
# run this script, and a test (internal/tools/workflowcheck) keeps the runbook's step list equal to the steps below.
#
#   ENV=<name>               the environment (infra/environments/<name>.yaml); its stacks are ecsr-<name>-*
#   IMAGE_DIGEST=sha256:...  the image to run (or IMAGE_TAG=<tag>; a digest pins the exact image)
#   BASELINE=<dir>           optional: the assembly of the last deploy, for preflight's update-safety rules
#   ASSEMBLY_OUT=<dir>       optional: keep the deployed assembly there (the pipeline uploads it as the next
#                            release's baseline)
#   MIGRATION_TIMEOUT=<s>    optional: how long the migration may run, default 3600 seconds
#
# Credentials: the environment account's deploy role (or an administrator of that account). The stacks name
# their account, so credentials of any other account are refused by the CDK CLI before CloudFormation is called.
set -euo pipefail
cd "$(dirname "$0")/.."
env=${ENV:?set ENV=<environment>}
[[ $env =~ ^[a-z][a-z0-9]{1,14}$ ]] || { echo "deploy: ENV=$env is not an environment name" >&2; exit 2; }
[ -f "infra/environments/$env.yaml" ] || { echo "deploy: no infra/environments/$env.yaml" >&2; exit 2; }
if [ -z "${IMAGE_DIGEST:-}${IMAGE_TAG:-}" ]; then
  echo "deploy: set IMAGE_DIGEST=sha256:... or IMAGE_TAG=<tag> of the image to run" >&2
  exit 2
fi
if [ -n "${IMAGE_DIGEST:-}" ] && ! [[ $IMAGE_DIGEST =~ ^sha256:[0-9a-f]{64}$ ]]; then
  echo "deploy: IMAGE_DIGEST=$IMAGE_DIGEST is not sha256:<64 hex digits>" >&2
  exit 2
fi
if [ -n "${IMAGE_TAG:-}" ] && ! [[ $IMAGE_TAG =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]]; then
  echo "deploy: IMAGE_TAG=$IMAGE_TAG is not an image tag" >&2
  exit 2
fi
timeout=${MIGRATION_TIMEOUT:-3600}
[[ $timeout =~ ^[0-9]+$ ]] || { echo "deploy: MIGRATION_TIMEOUT=$timeout is not a number of seconds" >&2; exit 2; }
cdk=infra/_cli/node_modules/.bin/cdk
app=cdk.out # relative to infra/: the assembly preflight checked is the one deployed
command -v jq >/dev/null || { echo "deploy: needs jq (the stacks' regions are read from the assembly)" >&2; exit 2; }
# shellcheck source=scripts/stackstate.sh
. scripts/stackstate.sh

step() { echo "deploy: step $1: $2"; }

# check_stacks stops the deploy unless every named stack is new or in a state an update starts from
# (scripts/stackstate.sh); any other answer of CloudFormation, an error included, stops it with the reason.
check_stacks() {
  local stack region state
  for stack in "$@"; do
    region=$(stack_region "infra/$app" "$stack")
    [ -n "$region" ] || { echo "deploy: $stack is not in the checked assembly" >&2; exit 1; }
    state=$(stack_ready "$stack" "$region") || exit 1
    echo "deploy: $stack ($region): $state"
  done
}

# deploy_stacks deploys exactly the named stacks from the checked assembly (no re-synthesis, no dependencies
# pulled in: the order is this script's).
deploy_stacks() {
  check_stacks "$@"
  (cd infra && "../$cdk" deploy --app "$app" --exclusively --require-approval never "$@")
}

# out reads an output of the environment's cluster stack; a missing output stops the deploy.
out() {
  local v
  v=$(aws cloudformation describe-stacks --stack-name "ecsr-$env-cluster" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text)
  if [ -z "$v" ] || [ "$v" = None ]; then
    echo "deploy: ecsr-$env-cluster has no output $1; services not deployed" >&2
    exit 1
  fi
  echo "$v"
}

# migrate runs the migration task deployed with the cluster stack (it already runs the release's image) and
# waits for it with its own deadline; it fails unless the container exited 0, and prints where its log is.
migrate() {
  local cluster taskdef subnets sg group region task id deadline status code stream
  cluster=$(out MigrationClusterName); taskdef=$(out MigrationTaskDefinitionArn)
  subnets=$(out MigrationSubnets); sg=$(out MigrationSecurityGroup); group=$(out MigrationLogGroup)
  region=$(aws configure get region || true); region=${region:-${AWS_REGION:-${AWS_DEFAULT_REGION:-}}}
  task=$(aws ecs run-task --cluster "$cluster" --task-definition "$taskdef" --launch-type FARGATE \
    --started-by "deploy-${GITHUB_RUN_ID:-local}" \
    --network-configuration "awsvpcConfiguration={subnets=[${subnets}],securityGroups=[${sg}],assignPublicIp=DISABLED}" \
    --query 'tasks[0].taskArn' --output text)
  if [ -z "$task" ] || [ "$task" = None ]; then
    echo "deploy: the migration task did not start (run-task returned no task)" >&2
    exit 1
  fi
  id=${task##*/}
  stream="migrate/migrate/$id"
  echo "deploy: migration task $task"
  echo "deploy: migration log: https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#logsV2:log-groups/log-group/${group//\//\$252F}/log-events/${stream//\//\$252F}"
  echo "deploy:   or: aws logs tail '$group' --log-stream-names '$stream' --follow"
  # aws ecs wait tasks-stopped gives up after 100 polls of 6 s; a migration may take longer.
  deadline=$(( $(date +%s) + timeout ))
  while :; do
    status=$(aws ecs describe-tasks --cluster "$cluster" --tasks "$task" --query 'tasks[0].lastStatus' --output text)
    [ "$status" = STOPPED ] && break
    if [ "$(date +%s)" -ge "$deadline" ]; then
      aws ecs stop-task --cluster "$cluster" --task "$task" --reason "deploy: migration exceeded ${timeout}s" >/dev/null
      echo "deploy: the migration ran longer than ${timeout}s (MIGRATION_TIMEOUT); stopped it, services not deployed" >&2
      exit 1
    fi
    sleep 15
  done
  code=$(aws ecs describe-tasks --cluster "$cluster" --tasks "$task" --query 'tasks[0].containers[0].exitCode' --output text)
  if [ "$code" != 0 ]; then
    aws ecs describe-tasks --cluster "$cluster" --tasks "$task" \
      --query 'tasks[0].{stopped:stoppedReason,container:containers[0].reason}' --output text >&2
    echo "deploy: the migration exited with ${code} (None: the container never ran); services not deployed" >&2
    exit 1
  fi
  echo "deploy: migration exited 0"
}

[ -x "$cdk" ] || make --no-print-directory cdk-cli

# The steps, in the runbook's order ("Deploy steps" in docs/runbook.md). A step line is `step <name>` below.
step preflight "synthesize with the image and check the environment offline, placeholders included (make preflight DEPLOY=1)"
make --no-print-directory preflight ENV="$env" DEPLOY=1 BASELINE="${BASELINE:-}" \
  IMAGE_DIGEST="${IMAGE_DIGEST:-}" IMAGE_TAG="${IMAGE_TAG:-}"

services=("ecsr-$env-stateless")
[ -f "infra/$app/ecsr-$env-edge-protection.template.json" ] && services+=("ecsr-$env-edge-protection")

step stateful "deploy ecsr-$env-stateful, ecsr-$env-edge and ecsr-$env-cluster (data, web ACL, cluster and migration task)"
# Every stack of the deploy first: a services stack that cannot be updated stops the deploy before the migration.
check_stacks "ecsr-$env-stateful" "ecsr-$env-edge" "ecsr-$env-cluster" "${services[@]}"
deploy_stacks "ecsr-$env-stateful" "ecsr-$env-edge" "ecsr-$env-cluster"

step migrate "run the migration task and wait for it to exit 0"
migrate

started=$(date +%s) # the release step follows the service deployments this deploy starts, none older
step services "deploy ecsr-$env-stateless (and ecsr-$env-edge-protection with Shield Advanced)"
deploy_stacks "${services[@]}"

step release "wait for every service's ECS deployment, bake time included, and report its outcome (scripts/release-wait.sh)"
# CloudFormation may return before a blue/green or canary deployment has baked: the release is done only when ECS
# says so. A rolled-back deployment (a failed smoke test hook, an alarm during the bake, the circuit breaker)
# fails the deploy with its reason, in the job summary on GitHub.
cluster=$(out MigrationClusterName)
for svc in $(aws cloudformation describe-stack-resources --stack-name "ecsr-$env-stateless" \
  --query "StackResources[?ResourceType=='AWS::ECS::Service'].PhysicalResourceId" --output text); do
  bash scripts/release-wait.sh "$cluster" "${svc##*/}" "$started"
done

step keep "keep the deployed assembly as the next deploy's baseline (ASSEMBLY_OUT)"
if [ -n "${ASSEMBLY_OUT:-}" ]; then
  rm -rf "$ASSEMBLY_OUT" && mkdir -p "$ASSEMBLY_OUT" && cp -R "infra/$app/." "$ASSEMBLY_OUT/"
  echo "deploy: assembly kept in $ASSEMBLY_OUT"
fi
echo "deploy: $env deployed"
