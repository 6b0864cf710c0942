# shellcheck shell=bash
# Made by prodbridge; yours to edit.
# What deploy.sh and rollback.sh share: arguments, --dry-run, messages, and the step outputs.
# The chosen target's own steps are in target.sh; docs/pipeline.md describes the contract.

DRY_RUN=0

usage() {
    echo "usage: $0 [--dry-run] ENVIRONMENT $1" >&2
    echo "  ENVIRONMENT is staging or production; --dry-run prints each command instead of running it" >&2
    exit 2
}

die() {
    echo "${0##*/}: $*" >&2
    exit 1
}

# Parses [--dry-run] ENVIRONMENT [more...] into DRY_RUN, ENVIRONMENT and ARGS.
parse_args() {
    local usage_rest=$1
    shift
    if [ "${1:-}" = "--dry-run" ]; then
        DRY_RUN=1
        shift
    fi
    [ "$#" -ge 1 ] || usage "$usage_rest"
    case $1 in
        staging | production) ENVIRONMENT=$1 ;;
        *) die "unknown environment '$1': use staging or production" ;;
    esac
    shift
    # shellcheck disable=SC2034 # read by deploy.sh and rollback.sh, which source this file
    ARGS=("$@")
}

# The arguments as one shell-quoted string: a command line for the other end of ssh.
quote() {
    local quoted
    printf -v quoted ' %q' "$@"
    printf '%s' "${quoted# }"
}

# Runs a command, or in a dry run prints it, quoted so that it can be pasted into a shell.
run() {
    if [ "$DRY_RUN" = 1 ]; then
        printf '+'
        printf ' %q' "$@"
        printf '\n'
    else
        "$@"
    fi
}

# As run, feeding the command a file on its standard input (a secret's is not printed).
run_with_input() {
    local input=$1
    shift
    if [ "$DRY_RUN" = 1 ]; then
        printf '+'
        printf ' %q' "$@"
        case $input in
            /dev/fd/*) printf ' < (a secret)\n' ;;
            *) printf ' < %q\n' "$input" ;;
        esac
    else
        "$@" <"$input"
    fi
}

# Fails unless $1 looks like an image reference: registry/name[:tag][@digest], no options.
check_image() {
    case $1 in
        "" | -* | *[!A-Za-z0-9._/:@-]*)
            die "'$1' is not an image reference, e.g. ghcr.io/acme/billing-api:0f3c9d2"
            ;;
    esac
}

# Fails, naming each unset variable and what it is for ("NAME: help" pairs).
require_settings() {
    local missing=0 pair name
    for pair in "$@"; do
        name=${pair%%:*}
        if [ -z "${!name:-}" ]; then
            echo "${0##*/}: set ${name} for ${ENVIRONMENT}:${pair#*:}" >&2
            missing=1
        fi
    done
    [ "$missing" = 0 ] || exit 1
}

# A name=value result: printed, and given to the next workflow steps when run by GitHub Actions.
output() {
    echo "$1=$2"
    if [ -n "${GITHUB_OUTPUT:-}" ]; then
        echo "$1=$2" >>"$GITHUB_OUTPUT"
    fi
}
