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
    # Both environments share one port: wait for the old server to be gone, or the new one
    # cannot bind it (on a busy machine a graceful shutdown takes more than a second).
    if [ -f "$STUB_STATE/server.pid" ]; then
        local old_pid tries=0
        old_pid=$(cat "$STUB_STATE/server.pid")
        kill "$old_pid" 2>/dev/null || true
        while kill -0 "$old_pid" 2>/dev/null && [ $tries -lt 300 ]; do
            sleep 0.1
            tries=$((tries + 1))
        done
        kill -9 "$old_pid" 2>/dev/null || true
    fi
    export DATABASE_URL="sqlite+aiosqlite:///$database"
    echo "$DATABASE_URL" >"$STUB_STATE/$ENVIRONMENT.database"
    run "$STUB_PROJECT/.venv/bin/my_service" migrate
    setsid nohup "$STUB_PROJECT/.venv/bin/my_service" serve --port "$port" \
        >>"$STUB_STATE/server.log" 2>&1 </dev/null &
    echo $! >"$STUB_STATE/server.pid"
    # Python's urllib, not curl: a fresh CI machine has Python and git only.
    # Up to 90 s: the template's tests run this beside other suites on a two-core machine.
    if ! "$STUB_PROJECT/.venv/bin/python" - "$DEPLOY_URL/healthz" "$!" <<'PY'; then
import os, sys, time, urllib.request
deadline = time.monotonic() + 90
while time.monotonic() < deadline:
    try:
        urllib.request.urlopen(sys.argv[1], timeout=2)
        sys.exit(0)
    except OSError:
        try:
            os.kill(int(sys.argv[2]), 0)
        except ProcessLookupError:
            sys.exit("the server exited")
        time.sleep(0.2)
sys.exit("no answer in 90 s")
PY
        tail -n 30 "$STUB_STATE/server.log" >&2 || true
        die "$image did not start"
    fi
    echo "$image" >"$STUB_STATE/$ENVIRONMENT.current"
}

target_deploy() {
    echo "deploy $ENVIRONMENT $1" >>"$STUB_STATE/actions"
    start "$1"
}

target_doctor() {
    echo "doctor $ENVIRONMENT" >>"$STUB_STATE/actions"
    # Like its servers, with the settings they run with: development's, on SQLite files in a
    # temporary folder, which the environment and settings checks fail (those are tested in the
    # generated project). Here: that deploy.sh runs the rest, and a late backup only warns.
    DATABASE_URL=$(cat "$STUB_STATE/$ENVIRONMENT.database") \
        run "$STUB_PROJECT/.venv/bin/my_service" doctor --skip environment --skip settings \
        --no-proxy --advisory backups
}

target_rollback() {
    local image=${1:-}
    [ -n "$image" ] || die "the stub rolls back to a named image only"
    echo "rollback $ENVIRONMENT $image" >>"$STUB_STATE/actions"
    start "$image"
}
