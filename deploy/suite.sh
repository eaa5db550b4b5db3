#!/usr/bin/env bash
# deploy/suite.sh — the distributed suite on this machine (`make up` / `make down`).
#
#   suite.sh up       Kafka + PostgreSQL (deploy/infra.sh), then every discovered
#                     service's `gongkai serve` and, where it has projections,
#                     `gongkai worker`, on consecutive ports; waits for each /ready,
#                     loads the demo district once, prints addresses and tokens
#   suite.sh down     stops the service processes, and Kafka/PostgreSQL if `up`
#                     started them (an infrastructure that was already running
#                     when `up` ran is left running)
#   suite.sh status   one line per process; exit 0 only if all are ready
#
# The service list comes from the code (gongkai.app.DEFINITIONS), never from
# this file. Everything is idempotent: `up` on a running suite only starts what
# is missing; `down` on a stopped one is a no-op.
#
# Environment (all optional):
#   GONGKAI_SUITE_DIR         pid files, logs, ports, token secret  (<repo>/var/suite)
#   GONGKAI_SUITE_BASE_PORT   first service port                    (8100)
#   GONGKAI_SUITE_DATABASE    PostgreSQL database of the suite      (gongkai_suite)
#   GONGKAI_SUITE_DEMO        1: load the demo district once; 0: do not   (1)
#   GONGKAI_SUITE_READY_TIMEOUT  seconds to wait for each /ready    (90)
#   GONGKAI_TOPIC_PREFIX      Kafka topic prefix                    (gongkai)
#   GONGKAI_TOKEN_SECRET      token secret (else one kept in the suite dir)
#   GONGKAI_KAFKA_PORT, GONGKAI_KAFKA_CONTROLLER_PORT, GONGKAI_PG_PORT,
#   GONGKAI_INFRA_DIR, GONGKAI_PG_DIR  passed to deploy/infra.sh (docs/infra.md)
# See docs/deployment.md.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/.." && pwd)
SUITE_DIR=${GONGKAI_SUITE_DIR:-$REPO_DIR/var/suite}
BASE_PORT=${GONGKAI_SUITE_BASE_PORT:-8100}
DATABASE=${GONGKAI_SUITE_DATABASE:-gongkai_suite}
DEMO=${GONGKAI_SUITE_DEMO:-1}
READY_TIMEOUT=${GONGKAI_SUITE_READY_TIMEOUT:-90}
PREFIX=${GONGKAI_TOPIC_PREFIX:-gongkai}
PG_PORT=${GONGKAI_PG_PORT:-15432}
KAFKA_PORT=${GONGKAI_KAFKA_PORT:-19092}
PY=${GONGKAI_PYTHON:-$REPO_DIR/.venv/bin/python}
GONGKAI_BIN=$(dirname "$PY")/gongkai
ADMIN_URL=postgresql://gongkai@127.0.0.1:$PG_PORT/gongkai
DATABASE_URL=postgresql://gongkai@127.0.0.1:$PG_PORT/$DATABASE
BOOTSTRAP=127.0.0.1:$KAFKA_PORT
INFRA_MARK=$SUITE_DIR/infra.started

[[ $DATABASE =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "GONGKAI_SUITE_DATABASE must be an identifier" >&2; exit 2; }

T0=$EPOCHREALTIME
say() { printf '[suite] %s\n' "$*" >&2; }
die() { printf '[suite] ERROR: %s\n' "$*" >&2; exit 1; }
elapsed() {
    local us=$(( ${EPOCHREALTIME/./} - ${T0/./} ))
    printf '%d.%ds' $(( us / 1000000 )) $(( us / 100000 % 10 ))
}
alive() {  # exists and is not a zombie
    local st
    st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    st=${st##*) }
    [[ ${st%% *} != Z ]]
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# "<role> <service>" per process, in port order, from the code.
processes() {
    (cd "$REPO_DIR" && "$PY" - <<'EOF'
from gongkai.app import DEFINITIONS
from shared.service import start_order

for name in start_order(DEFINITIONS):  # a service that calls others after them
    print("serve", name)
    if list(DEFINITIONS[name].projections()):
        print("worker", name)
EOF
    )
}

# The pid in <unit>.pid if that process is alive and is this unit's gongkai.
running_pid() {  # $1 = unit (role-service)
    local file=$SUITE_DIR/$1.pid pid
    [[ -f $file ]] || return 1
    pid=$(cat "$file" 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "gongkai ${1%%-*} ${1#*-} " || return 1
    echo "$pid"
}

token_secret() {
    if [[ -n ${GONGKAI_TOKEN_SECRET:-} ]]; then echo "$GONGKAI_TOKEN_SECRET"; return; fi
    local file=$SUITE_DIR/token-secret
    if [[ ! -s $file ]]; then
        (umask 077 && head -c 48 /dev/urandom | base64 | tr -d '\n=' >"$file")
    fi
    cat "$file"
}

ensure_database() {
    (cd "$REPO_DIR" && "$PY" - "$ADMIN_URL" "$DATABASE" <<'EOF'
import asyncio
import sys

import asyncpg


async def main(url: str, name: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f"CREATE DATABASE {name}")
            print(f"[suite] created database {name}", file=sys.stderr)
    finally:
        await conn.close()


asyncio.run(main(sys.argv[1], sys.argv[2]))
EOF
    )
}

wait_ready() {  # $1 unit, $2 pid, $3 port
    local deadline=$(( SECONDS + READY_TIMEOUT ))
    while (( SECONDS < deadline )); do
        if ! alive "$2"; then
            say "$1 (pid $2) exited; last lines of $SUITE_DIR/$1.log:"
            tail -n 30 "$SUITE_DIR/$1.log" >&2 || true
            rm -f "$SUITE_DIR/$1.pid"
            return 1
        fi
        if curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$3/ready" 2>/dev/null; then
            return 0
        fi
        sleep 0.25
    done
    say "$1 not ready after ${READY_TIMEOUT}s; last lines of $SUITE_DIR/$1.log:"
    tail -n 30 "$SUITE_DIR/$1.log" >&2 || true
    return 1
}

# A port for a unit about to start: the first from BASE_PORT that no running unit of
# ours holds and nothing else listens on (consecutive on a fresh start; stable when
# services are added to a running suite).
HANDED_OUT=" "  # ports given to units in this run (not yet bound, maybe not yet exec'd)
free_port_for() {
    local port=$BASE_PORT file taken
    while :; do
        taken=0
        [[ $HANDED_OUT == *" $port "* ]] && taken=1
        for file in "$SUITE_DIR"/*.port; do
            [[ -f $file ]] || continue
            if [[ $(cat "$file") == "$port" ]] && running_pid "$(basename "$file" .port)" >/dev/null; then
                taken=1
                break
            fi
        done
        if [[ $taken == 0 ]] && ! port_open "$port"; then echo "$port"; return 0; fi
        port=$(( port + 1 ))
        (( port < BASE_PORT + 200 )) || die "no free port in $BASE_PORT..$(( BASE_PORT + 199 ))"
    done
}

# {"service": "http://127.0.0.1:port", ...} of the APIs started so far, for a service that
# calls another over HTTP (the workbench, the portal; started after the services they call).
service_urls() {
    local file sep="" out="{"
    for file in "$SUITE_DIR"/serve-*.port; do
        [[ -f $file ]] || continue
        local name=${file##*/serve-}
        out+="$sep\"${name%.port}\": \"http://127.0.0.1:$(cat "$file")\""
        sep=", "
    done
    echo "$out}"
}

start_unit() {  # $1 role, $2 service
    local unit=$1-$2 pid port
    if pid=$(running_pid "$unit"); then
        say "$unit already running (pid $pid) on :$(cat "$SUITE_DIR/$unit.port")"
        return 0
    fi
    port=$(free_port_for)
    HANDED_OUT+="$port "
    set -- "$1" "$2" "$port"
    [[ -f $SUITE_DIR/$unit.log ]] && mv -f "$SUITE_DIR/$unit.log" "$SUITE_DIR/$unit.log.1"
    # setsid: own session, so the process outlives `make up`'s shell and its Ctrl-C; the
    # subshell execs (holds no descriptor of ours) and the inner shell writes its own pid.
    rm -f "$SUITE_DIR/$unit.pid"
    (
        cd "$REPO_DIR"
        export GONGKAI_DATABASE_URL=$DATABASE_URL GONGKAI_KAFKA_BOOTSTRAP=$BOOTSTRAP \
            GONGKAI_TOPIC_PREFIX=$PREFIX GONGKAI_TOKEN_SECRET=$SECRET \
            GONGKAI_VAR_DIR=$SUITE_DIR/var GONGKAI_HOST=127.0.0.1 GONGKAI_PORT=$3 \
            GONGKAI_SERVICE_URLS=$(service_urls) GONGKAI_KAFKA_INSTANCE_ID=$unit
        # shellcheck disable=SC2016  # $$ is the inner shell's
        exec setsid bash -c 'echo $$ >"$0"; exec "$@"' "$SUITE_DIR/$unit.pid" \
            "$GONGKAI_BIN" "$1" "$2" --port "$3"
    ) </dev/null >"$SUITE_DIR/$unit.log" 2>&1 &
    local deadline=$(( SECONDS + 5 ))
    until [[ -s $SUITE_DIR/$unit.pid ]] || (( SECONDS >= deadline )); do sleep 0.05; done
    echo "$3" >"$SUITE_DIR/$unit.port"
    say "started $unit (pid $(cat "$SUITE_DIR/$unit.pid")) on :$3, log $SUITE_DIR/$unit.log"
}

load_demo() {
    if [[ $DEMO != 1 || -f $SUITE_DIR/demo.loaded ]]; then return 0; fi
    (cd "$REPO_DIR" && GONGKAI_DATABASE_URL=$DATABASE_URL GONGKAI_TOKEN_SECRET=$SECRET "$PY" - <<'EOF'
import asyncio
import sys

from gongkai.app import DEFINITIONS
from gongkai.demo import load_demo_accounts, seed_requests
from shared.calendar_book import CalendarBook
from shared.envelope import utcnow
from shared.eventstore import open_postgres_store
from shared.settings import Settings
from shared.tenancy import load_org_tree


async def main() -> None:
    if "applications" not in DEFINITIONS:
        return
    from services.applications.handlers import ApplicationsHandlers

    settings = Settings()
    orgs = load_org_tree(settings.org_file)
    if "accounts" in DEFINITIONS:
        from services.accounts.cli import open_accounts

        async with open_accounts(settings) as accounts:
            opened = await load_demo_accounts(accounts, orgs)
        print(f"[suite] demo district 上党区: {opened} accounts opened", file=sys.stderr)
    store = await open_postgres_store(settings.database_url, schema="applications", listen=False)
    try:
        handlers = ApplicationsHandlers(
            store=store, orgs=orgs, calendar=CalendarBook(), clock=utcnow
        )
        seeded = await seed_requests(handlers, orgs)
        print(f"[suite] demo district 上党区: {seeded} sample requests registered", file=sys.stderr)
    finally:
        await store.close()


asyncio.run(main())
EOF
    )
    touch "$SUITE_DIR/demo.loaded"
}

print_tokens() {
    (cd "$REPO_DIR" && GONGKAI_DATABASE_URL=$DATABASE_URL GONGKAI_TOKEN_SECRET=$SECRET "$PY" - <<'EOF'
import contextlib
import io

from gongkai.cli import main
from gongkai.demo import DEMO_PEOPLE, demo_password


def issue(*argv: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(["token", "issue", *argv])
    return out.getvalue().strip()


print("  sign in: POST <accounts>/v1/auth/password {username, password}; demo accounts:")
for label, pid in DEMO_PEOPLE:
    print(f"    {pid:<14} {demo_password(pid):<13} {label}")
print("  tokens (Authorization: Bearer …), issued with `gongkai token issue`:")
for pid in ("wang-tietong", "zhang-wei", "liu-min", "chen-gang"):
    print(f"    {pid}:\n      {issue('--sub', pid)}")
print(f"    service account svc-assessment:\n      {issue('--sub', 'svc-assessment', '--service')}")
EOF
    )
}

cmd_up() {
    mkdir -p "$SUITE_DIR/var"
    # Remember which server this `up` starts: `down` stops those and only those.
    local server was_up=()
    for server in kafka postgres; do
        if GONGKAI_PG_PORT=$PG_PORT GONGKAI_KAFKA_PORT=$KAFKA_PORT \
            bash "$SCRIPT_DIR/$server.sh" status >/dev/null 2>&1; then
            was_up+=("$server")
        fi
    done
    GONGKAI_INFRA_KEYCLOAK=0 GONGKAI_PG_PORT=$PG_PORT GONGKAI_KAFKA_PORT=$KAFKA_PORT bash "$SCRIPT_DIR/infra.sh" up \
        || die "deploy/infra.sh up failed"
    for server in kafka postgres; do
        if [[ " ${was_up[*]} " != *" $server "* ]]; then touch "$INFRA_MARK.$server"; fi
    done
    ensure_database
    SECRET=$(token_secret)
    local units=() role service
    while read -r role service; do
        start_unit "$role" "$service"
        units+=("$role-$service")
    done < <(processes)
    local unit pid failed=0
    for unit in "${units[@]}"; do
        pid=$(running_pid "$unit") || { say "$unit is not running"; failed=1; continue; }
        wait_ready "$unit" "$pid" "$(cat "$SUITE_DIR/$unit.port")" || failed=1
    done
    if [[ $failed == 1 ]]; then die "some processes did not become ready ('make down' stops the rest)"; fi
    load_demo
    {
        echo ""
        echo "gongkai 政务公开 — distributed suite (one process per service role), up in $(elapsed)"
        echo "  Kafka:      $BOOTSTRAP (topics $PREFIX.<service>.events)"
        echo "  PostgreSQL: $DATABASE_URL (one schema per service)"
        echo "  state:      $SUITE_DIR (pid files, logs)"
        for unit in "${units[@]}"; do
            printf '  %-28s http://127.0.0.1:%s   (/health /ready /metrics /docs)\n' \
                "$unit" "$(cat "$SUITE_DIR/$unit.port")"
        done
        print_tokens
        echo "  more tokens: GONGKAI_TOKEN_SECRET=\$(cat $SUITE_DIR/token-secret) $GONGKAI_BIN token issue --sub wang-tietong"
        echo "  stop:       make down"
    }
}

cmd_down() {
    local file unit pid stopped=0
    shopt -s nullglob
    for file in "$SUITE_DIR"/*.pid; do
        unit=$(basename "$file" .pid)
        if pid=$(running_pid "$unit"); then
            kill -TERM "$pid" 2>/dev/null || true
            stopped=$(( stopped + 1 ))
        fi
    done
    local deadline=$(( SECONDS + 20 ))
    for file in "$SUITE_DIR"/*.pid; do
        unit=$(basename "$file" .pid)
        if pid=$(running_pid "$unit"); then
            while alive "$pid" && (( SECONDS < deadline )); do sleep 0.1; done
            if alive "$pid"; then say "$unit (pid $pid) ignored SIGTERM: SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; fi
        fi
        rm -f "$file" "$SUITE_DIR/$unit.port"
    done
    say "stopped $stopped service processes"
    local server
    for server in kafka postgres; do
        if [[ -f $INFRA_MARK.$server ]]; then
            GONGKAI_PG_PORT=$PG_PORT GONGKAI_KAFKA_PORT=$KAFKA_PORT bash "$SCRIPT_DIR/$server.sh" stop
            rm -f "$INFRA_MARK.$server"
        else
            say "$server was not started by 'up': left as it is"
        fi
    done
    say "down in $(elapsed)"
}

cmd_status() {
    local rc=0 role service unit pid port
    while read -r role service; do
        unit=$role-$service
        if pid=$(running_pid "$unit"); then
            port=$(cat "$SUITE_DIR/$unit.port")
            if curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/ready"; then
                echo "$unit: ready (pid $pid) on http://127.0.0.1:$port"
            else
                echo "$unit: running (pid $pid), not ready on :$port"; rc=3
            fi
        else
            echo "$unit: stopped"; rc=3
        fi
    done < <(processes)
    return "$rc"
}

case ${1:-} in
    up)     cmd_up ;;
    down)   cmd_down ;;
    status) cmd_status ;;
    *) echo "usage: $0 {up|down|status}" >&2; exit 2 ;;
esac
