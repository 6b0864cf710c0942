#!/usr/bin/env bash
# Made by prodbridge; yours to edit.
# Puts an environment back on an earlier release, without running migrations (they only ever
# add: see docs/pipeline.md, "Migrations and rollback"). The pipeline runs it when a smoke test
# fails (.github/workflows/deploy.yml); .github/workflows/rollback.yml runs it for a person; it
# also runs by hand:
#
#   deploy/rollback.sh [--dry-run] ENVIRONMENT [IMAGE]
#
# Without IMAGE it goes back to the release that ran before the last deploy; with IMAGE, to that
# image (e.g. a tag from the Packages page, or the previous-image a deploy printed).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=deploy/lib.sh
. "$here/lib.sh"
# shellcheck source=deploy/target.sh
. "$here/target.sh"

parse_args "[IMAGE]" "$@"
[ "${#ARGS[@]}" -le 1 ] || usage "[IMAGE]"
IMAGE=${ARGS[0]:-}
if [ -n "$IMAGE" ]; then
    check_image "$IMAGE"
fi

target_check
echo "Rolling ${ENVIRONMENT} back to ${IMAGE:-the previous release}"
target_rollback "$IMAGE"
echo "Rolled ${ENVIRONMENT} back"
