# shellcheck shell=bash
# A stand-in platform for the template's tests (tests/test_act.py), written to the custom
# target's contract: an environment is a `serve` process on 127.0.0.1 (DEPLOY_URL's port), run
# from the project the test made (STUB_PROJECT), with its own SQLite file in STUB_STATE. A
# release named in STUB_BROKEN starts on production with an empty database, the way a release
# with a production-only mistake would: its smoke test cannot log in.

target_check() {
    require_settings "DEPLOY_URL: http://127.0.0.1:PORT" "STUB_STATE: a folder" \
        "STUB_PROJECT: the generated project"
}

target_current() {
    cat "$STUB_STATE/$ENVIRONMENT.current" 2>/dev/null || true
}

start() {
    local image=$1 database="$STUB_STATE/$ENVIRONMENT.db" port=${DEPLOY_URL##*:}
    if [ "$ENVIRONMENT" = production ] && [ "$image" = "${STUB_BROKEN:-}" ]; then
        database="$STUB_STATE/broken.db"
    fi
    if [ -f "$STUB_STATE/server.pid" ]; then
        kill "$(cat "$STUB_STATE/server.pid")" 2>/dev/null || true
        sleep 1
    fi
    export DATABASE_URL="sqlite+aiosqlite:///$database"
    run "$STUB_PROJECT/.venv/bin/my_service" migrate
    setsid nohup "$STUB_PROJECT/.venv/bin/my_service" serve --port "$port" \
        >>"$STUB_STATE/server.log" 2>&1 </dev/null &
    echo $! >"$STUB_STATE/server.pid"
    # Python's urllib, not curl: a fresh CI machine has Python and git only.
    "$STUB_PROJECT/.venv/bin/python" - "$DEPLOY_URL/healthz" <<'PY' || die "$image did not start"
import sys, time, urllib.request
for _ in range(50):
    try:
        urllib.request.urlopen(sys.argv[1], timeout=1)
        break
    except OSError:
        time.sleep(0.2)
else:
    sys.exit(1)
PY
    echo "$image" >"$STUB_STATE/$ENVIRONMENT.current"
}

target_deploy() {
    echo "deploy $ENVIRONMENT $1" >>"$STUB_STATE/actions"
    start "$1"
}

target_rollback() {
    local image=${1:-}
    [ -n "$image" ] || die "the stub rolls back to a named image only"
    echo "rollback $ENVIRONMENT $image" >>"$STUB_STATE/actions"
    start "$image"
}
