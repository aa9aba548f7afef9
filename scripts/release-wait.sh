#!/usr/bin/env bash
# release-wait.sh: wait for the Amazon ECS deployment of one service to finish, bake time included, and report
# its outcome. The pipeline runs it once per service after `cdk deploy` (docs/releases.md, "In the pipeline").
#
#   scripts/release-wait.sh <cluster> <service> [<started-after, epoch seconds>]
#
# Environment: AWS_REGION (or the CLI's configuration), RELEASE_WAIT_TIMEOUT (seconds, default 5400: 90 minutes,
# above the longest bake plus canary steps), RELEASE_WAIT_POLL (seconds, default 15), GITHUB_STEP_SUMMARY (when
# set, a Markdown report is appended to it, as GitHub Actions shows in the job summary).
#
# Exit status: 0 when the deployment is SUCCESSFUL; 1 when it ended otherwise (rolled back by a failed smoke
# test hook, a deployment alarm during the bake or the circuit breaker; stopped) with the reason printed; 2 on
# bad usage or when no deployment is found; 3 on timeout.
#
# It reads the service deployment through ListServiceDeployments and DescribeServiceDeployments
# (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServiceDeployments.html); the statuses
# and lifecycle stages are those of ServiceDeployment
# (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceDeployment.html).
set -euo pipefail

usage() { echo "usage: $0 <cluster> <service> [<started-after epoch seconds>]" >&2; exit 2; }
[[ $# -ge 2 && $# -le 3 ]] || usage
cluster=$1 service=$2 after=${3:-}
timeout=${RELEASE_WAIT_TIMEOUT:-5400}
poll=${RELEASE_WAIT_POLL:-15}
[[ $timeout =~ ^[0-9]+$ && $poll =~ ^[0-9]+$ ]] || { echo "release-wait: RELEASE_WAIT_TIMEOUT and RELEASE_WAIT_POLL must be whole seconds" >&2; exit 2; }
[[ -z $after || $after =~ ^[0-9]+$ ]] || { echo "release-wait: started-after must be epoch seconds, got '$after'" >&2; exit 2; }

summary() { if [[ -n ${GITHUB_STEP_SUMMARY:-} ]]; then printf '%s\n' "$@" >>"$GITHUB_STEP_SUMMARY"; fi; }

list_args=(--cluster "$cluster" --service "$service")
[[ -n $after ]] && list_args+=(--created-at "after=$after")
arn=$(aws ecs list-service-deployments "${list_args[@]}" \
	--query 'sort_by(serviceDeployments, &createdAt)[-1].serviceDeploymentArn' --output text)
if [[ -z $arn || $arn == None ]]; then
	echo "release-wait: no deployment of $service in $cluster${after:+ since $after}" >&2
	summary "### $service: no deployment found" ""
	exit 2
fi
echo "release-wait: following $arn"

deadline=$(( $(date +%s) + timeout ))
last=""
while :; do
	# One line: status, stage, status reason, rollback reason, triggered alarms, failed tasks.
	IFS=$'\t' read -r status stage reason rollback alarms failed < <(aws ecs describe-service-deployments \
		--service-deployment-arns "$arn" --output text --query 'serviceDeployments[0].[
			status, lifecycleStage || `-`, statusReason || `-`, rollback.reason || `-`,
			join(`,`, alarms.triggeredAlarmNames || `[]`) || `-`, deploymentCircuitBreaker.failureCount || `0`]')
	now="$status/$stage"
	if [[ $now != "$last" ]]; then
		echo "release-wait: $(date -u +%H:%M:%S) $service $status, stage $stage"
		last=$now
	fi
	case $status in
	SUCCESSFUL)
		echo "release-wait: $service deployed"
		summary "### $service: deployed" "" "Deployment \`$arn\` succeeded after its bake time." ""
		exit 0 ;;
	STOPPED | ROLLBACK_SUCCESSFUL | ROLLBACK_FAILED)
		[[ -z $alarms || $alarms == - ]] && alarms=none
		echo "release-wait: $service $status: $reason" >&2
		echo "release-wait: rollback reason: $rollback; alarms triggered: $alarms; failed tasks: $failed" >&2
		summary "### $service: release failed ($status)" "" \
			"| | |" "|---|---|" \
			"| reason | ${reason//|/\\|} |" \
			"| rollback | ${rollback//|/\\|} |" \
			"| stage reached | $stage |" \
			"| alarms triggered | $alarms |" \
			"| tasks failed (circuit breaker) | $failed |" \
			"| deployment | \`$arn\` |" "" \
			"A failed smoke test shows in the reason as the hook's failure; its steps are in the log group of the function \`*SmokeHook*\`." ""
		exit 1 ;;
	esac
	if (( $(date +%s) >= deadline )); then
		echo "release-wait: $service still $status ($stage) after ${timeout}s" >&2
		summary "### $service: still $status at stage $stage after ${timeout}s" ""
		exit 3
	fi
	sleep "$poll"
done
