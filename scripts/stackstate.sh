# shellcheck shell=bash
# Sourced by scripts/deploy.sh: whether a stack may be deployed, decided from its CloudFormation status.
#
# DescribeStacks answers a stack that does not exist with a ValidationError "Stack with id <name> does not exist"
# (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStacks.html): that message, and
# only that one, means the stack is new. Every other error (throttling, expired credentials, access denied, the
# network) stops the deploy with the CLI's own message: guessing "new stack" from it would deploy out of order.
#
# stack_ready <stack> <region> prints "new" or the stack's status and returns 0 when `cdk deploy` may run; it
# prints why, and what to do, to stderr and returns 1 otherwise.
stack_ready() {
  local stack=$1 region=$2 out status
  if ! out=$(aws cloudformation describe-stacks --region "$region" --stack-name "$stack" \
    --query 'Stacks[0].StackStatus' --output text 2>&1); then
    if [[ $out == *"Stack with id $stack does not exist"* ]]; then
      echo new
      return 0
    fi
    echo "deploy: cannot read the status of $stack in $region; nothing deployed:" >&2
    echo "$out" >&2
    return 1
  fi
  status=$out
  case $status in
  CREATE_COMPLETE | UPDATE_COMPLETE | UPDATE_ROLLBACK_COMPLETE | IMPORT_COMPLETE | IMPORT_ROLLBACK_COMPLETE)
    # A last known stable state, which an update starts from (the list of RollbackStack,
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_RollbackStack.html).
    echo "$status"
    ;;
  REVIEW_IN_PROGRESS)
    # A change set created the stack and was never executed: it holds no resources; the CDK CLI treats it as
    # new and creates it with a change set.
    echo "$status"
    ;;
  ROLLBACK_COMPLETE)
    # The stack's creation failed and was rolled back: it has no stable state to update from (not in the list
    # above), so it can only be deleted. The CDK CLI would delete it silently and create it again; here the
    # operator decides, after reading why it failed (resources with DeletionPolicy Retain may be left behind).
    cat >&2 <<EOF
deploy: $stack is ROLLBACK_COMPLETE in $region: its first creation failed and was rolled back, and CloudFormation
  cannot update such a stack, only delete it. Nothing deployed. Find the cause, fix it, delete the stack, re-run:
    aws cloudformation describe-stack-events --region $region --stack-name $stack \\
      --query "StackEvents[?ends_with(ResourceStatus,'FAILED')].[LogicalResourceId,ResourceStatusReason]" --output text
    aws cloudformation delete-stack --region $region --stack-name $stack
    aws cloudformation wait stack-delete-complete --region $region --stack-name $stack
  (docs/runbook.md, "A deploy stops on a stack's status").
EOF
    return 1
    ;;
  UPDATE_ROLLBACK_FAILED)
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-continueupdaterollback.html
    cat >&2 <<EOF
deploy: $stack is UPDATE_ROLLBACK_FAILED in $region: an update's rollback could not finish, and the stack cannot be
  updated until it does. Nothing deployed. Fix what the failed resources name, then:
    aws cloudformation continue-update-rollback --region $region --stack-name $stack
  (docs/runbook.md, "A deploy stops on a stack's status").
EOF
    return 1
    ;;
  *_IN_PROGRESS)
    echo "deploy: $stack is $status in $region: another operation is running on it. Nothing deployed; re-run when it has finished (aws cloudformation describe-stacks --region $region --stack-name $stack)." >&2
    return 1
    ;;
  *)
    # CREATE_FAILED, DELETE_FAILED, ROLLBACK_FAILED, IMPORT_ROLLBACK_FAILED, UPDATE_FAILED, or an unknown status.
    echo "deploy: $stack is $status in $region, which a deploy cannot update. Nothing deployed; see its events (aws cloudformation describe-stack-events --region $region --stack-name $stack) and docs/runbook.md, \"A deploy stops on a stack's status\"." >&2
    return 1
    ;;
  esac
}

# stack_region <assembly dir> <stack> prints the region the assembly deploys the stack to ("" when the assembly
# has no such stack).
stack_region() {
  jq -r --arg s "$2" '.artifacts[$s].environment // "" | sub("^aws://[^/]*/"; "")' "$1/manifest.json"
}
