#!/usr/bin/env bash
# Made by prodbridge; yours to edit.
# Deploys one release (a container image) to one environment: the database migrations, then the
# rollout, then a wait until the new release is healthy. The pipeline runs it
# (.github/workflows/deploy.yml); a person can run the same command by hand:
#
#   deploy/deploy.sh [--dry-run] ENVIRONMENT IMAGE
#   deploy/deploy.sh --dry-run staging ghcr.io/acme/billing-api:0f3c9d2...
#
# It prints (and gives GitHub Actions) previous-image=, the release that ran before, so that
# deploy/rollback.sh can go back to it. The target's settings are environment variables: see
# deploy/target.sh.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=deploy/lib.sh
. "$here/lib.sh"
# shellcheck source=deploy/target.sh
. "$here/target.sh"

parse_args IMAGE "$@"
[ "${#ARGS[@]}" = 1 ] || usage IMAGE
IMAGE=${ARGS[0]}
check_image "$IMAGE"

target_check
if [ "$DRY_RUN" = 1 ]; then
    previous="(the release running now)"
else
    previous=$(target_current)
    # Known before anything changes, so that a failed rollout can be rolled back too.
    output previous-image "$previous"
fi
echo "Deploying ${IMAGE} to ${ENVIRONMENT} (running now: ${previous:-nothing})"
target_deploy "$IMAGE"
# The production checks, in the environment, before the smoke test: a release whose settings
# are unsafe fails here, and the pipeline rolls it back. A target without target_doctor (one
# written before it existed) skips them.
if declare -F target_doctor >/dev/null; then
    echo "Checking ${ENVIRONMENT} with doctor"
    target_doctor
else
    echo "deploy/target.sh has no target_doctor: the production checks were not run"
fi
echo "Deployed ${IMAGE} to ${ENVIRONMENT}"
