#!/usr/bin/env bash
# deploy/infra.sh — the test infrastructure in one command: a real PostgreSQL
# (deploy/postgres.sh) and a real single-node Kafka (deploy/kafka.sh) on
# loopback, non-default ports.
#
#   infra.sh up        start both (installing what is missing), write <infra dir>/env
#   infra.sh down      stop both, remove <infra dir>/env
#   infra.sh status    one line each; exit 0 only if both are up
#   infra.sh install   install both without starting them (e.g. to warm a CI cache)
#
# After `up`:  source "${GONGKAI_INFRA_DIR:-<repo>/var/infra}/env"  exports
#   GONGKAI_TEST_DATABASE_URL=postgresql://gongkai@127.0.0.1:<pg port>/gongkai
#   GONGKAI_TEST_KAFKA_BOOTSTRAP=127.0.0.1:<kafka port>
# Paths derive from this script's location, not the current directory.  The
# variables of kafka.sh and postgres.sh (ports, dirs, GONGKAI_PG_FAST) apply.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/.." && pwd)
export GONGKAI_INFRA_DIR=${GONGKAI_INFRA_DIR:-$REPO_DIR/var/infra}
ENV_FILE=$GONGKAI_INFRA_DIR/env
PG_PORT=${GONGKAI_PG_PORT:-15432}
KAFKA_PORT=${GONGKAI_KAFKA_PORT:-19092}

T0=$EPOCHREALTIME
say() { printf '[infra] %s\n' "$*" >&2; }
elapsed() {
    local us=$(( ${EPOCHREALTIME/./} - ${T0/./} ))
    printf '%d.%ds' $(( us / 1000000 )) $(( us / 100000 % 10 ))
}

# Run "<script> <cmd>" for postgres and kafka side by side; fail if either does.
both() {
    local cmd=$1 pg_pid rc=0
    "$SCRIPT_DIR/postgres.sh" "$cmd" &
    pg_pid=$!
    "$SCRIPT_DIR/kafka.sh" "$cmd" || rc=$?
    wait "$pg_pid" || rc=$?
    return "$rc"
}

cmd_up() {
    say "up: PostgreSQL on 127.0.0.1:$PG_PORT, Kafka on 127.0.0.1:$KAFKA_PORT ..."
    # Installs first and one at a time (each may run apt-get, which takes
    # dpkg's lock); both are quick no-ops once done.  Then start in parallel.
    "$SCRIPT_DIR/postgres.sh" install
    "$SCRIPT_DIR/kafka.sh" install
    if ! both start; then
        say "up FAILED after $(elapsed) (see above); 'deploy/infra.sh down' stops what did start"
        return 1
    fi
    mkdir -p "$GONGKAI_INFRA_DIR"
    cat >"$ENV_FILE.tmp" <<EOF
# Written by deploy/infra.sh up; removed by deploy/infra.sh down.
export GONGKAI_TEST_DATABASE_URL=postgresql://gongkai@127.0.0.1:$PG_PORT/gongkai
export GONGKAI_TEST_KAFKA_BOOTSTRAP=127.0.0.1:$KAFKA_PORT
EOF
    mv "$ENV_FILE.tmp" "$ENV_FILE"
    say "up in $(elapsed); source $ENV_FILE"
}

cmd_down() {
    rm -f "$ENV_FILE"
    both stop
    say "down in $(elapsed)"
}

cmd_status() {
    local rc=0
    "$SCRIPT_DIR/postgres.sh" status || rc=3
    "$SCRIPT_DIR/kafka.sh" status || rc=3
    if [[ -f $ENV_FILE ]]; then echo "env: $ENV_FILE"; fi
    return "$rc"
}

cmd_install() {
    "$SCRIPT_DIR/postgres.sh" install
    "$SCRIPT_DIR/kafka.sh" install
    say "installed in $(elapsed)"
}

case ${1:-} in
    up)      cmd_up ;;
    down)    cmd_down ;;
    status)  cmd_status ;;
    install) cmd_install ;;
    *) echo "usage: $0 {up|down|status|install}" >&2; exit 2 ;;
esac
