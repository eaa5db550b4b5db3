#!/usr/bin/env bash
# deploy/infra.sh — the test infrastructure in one command: a real PostgreSQL
# (deploy/postgres.sh), a real single-node Kafka (deploy/kafka.sh) and a real Keycloak
# OpenID Connect provider with the test realm (deploy/keycloak.sh), on loopback,
# non-default ports.
#
#   infra.sh up        start all three in parallel (installing what is missing), write <infra dir>/env
#   infra.sh down      stop all three, remove <infra dir>/env
#   infra.sh status    one line each; exit 0 only if all are up
#   infra.sh install   install all without starting them (e.g. to warm a CI cache)
#
# After `up`:  source "${GONGKAI_INFRA_DIR:-<repo>/var/infra}/env"  exports
#   GONGKAI_TEST_DATABASE_URL=postgresql://gongkai@127.0.0.1:<pg port>/gongkai
#   GONGKAI_TEST_KAFKA_BOOTSTRAP=127.0.0.1:<kafka port>
#   GONGKAI_TEST_KEYCLOAK_URL=http://127.0.0.1:<keycloak port>
# each line only for a server that did start; `up` fails if any did not.
# GONGKAI_INFRA_KEYCLOAK=0 leaves Keycloak out (the running suite and benchmarks do not
# need it).  Paths derive from this script's location, not the current directory.  The
# variables of kafka.sh, postgres.sh and keycloak.sh (ports, dirs, GONGKAI_PG_FAST) apply.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/.." && pwd)
export GONGKAI_INFRA_DIR=${GONGKAI_INFRA_DIR:-$REPO_DIR/var/infra}
ENV_FILE=$GONGKAI_INFRA_DIR/env
PG_PORT=${GONGKAI_PG_PORT:-15432}
KAFKA_PORT=${GONGKAI_KAFKA_PORT:-19092}
KEYCLOAK_PORT=${GONGKAI_KEYCLOAK_PORT:-18080}
WITH_KEYCLOAK=1
case ${GONGKAI_INFRA_KEYCLOAK:-1} in 0|false|no) WITH_KEYCLOAK=0 ;; esac

T0=$EPOCHREALTIME
say() { printf '[infra] %s\n' "$*" >&2; }
elapsed() {
    local us=$(( ${EPOCHREALTIME/./} - ${T0/./} ))
    printf '%d.%ds' $(( us / 1000000 )) $(( us / 100000 % 10 ))
}

# Run "<script> <cmd>" for every server side by side; fail if any does.  Sets OK_<name>=1
# for those that succeeded.
all() {
    local cmd=$1 rc=0 name
    local -A pids=()
    "$SCRIPT_DIR/postgres.sh" "$cmd" & pids[postgres]=$!
    "$SCRIPT_DIR/kafka.sh" "$cmd" & pids[kafka]=$!
    if [[ $WITH_KEYCLOAK == 1 ]]; then "$SCRIPT_DIR/keycloak.sh" "$cmd" & pids[keycloak]=$!; fi
    OK_postgres=0 OK_kafka=0 OK_keycloak=0
    for name in "${!pids[@]}"; do
        if wait "${pids[$name]}"; then printf -v "OK_$name" 1; else rc=1; fi
    done
    return "$rc"
}

cmd_up() {
    local what="PostgreSQL on 127.0.0.1:$PG_PORT, Kafka on 127.0.0.1:$KAFKA_PORT"
    [[ $WITH_KEYCLOAK == 1 ]] && what+=", Keycloak on http://127.0.0.1:$KEYCLOAK_PORT"
    say "up: $what ..."
    # Debian packages first and one script at a time (each may run apt-get, which takes
    # dpkg's lock); quick no-ops once done.  Then the servers start in parallel; Keycloak's
    # download and one-time build happen inside its start, beside the others.
    "$SCRIPT_DIR/postgres.sh" install
    "$SCRIPT_DIR/kafka.sh" install
    if [[ $WITH_KEYCLOAK == 1 ]]; then "$SCRIPT_DIR/keycloak.sh" prereqs; fi
    local rc=0
    all start || rc=$?
    mkdir -p "$GONGKAI_INFRA_DIR"
    {
        echo "# Written by deploy/infra.sh up; removed by deploy/infra.sh down."
        if [[ $OK_postgres == 1 ]]; then
            echo "export GONGKAI_TEST_DATABASE_URL=postgresql://gongkai@127.0.0.1:$PG_PORT/gongkai"
        fi
        if [[ $OK_kafka == 1 ]]; then
            echo "export GONGKAI_TEST_KAFKA_BOOTSTRAP=127.0.0.1:$KAFKA_PORT"
        fi
        if [[ $OK_keycloak == 1 ]]; then
            echo "export GONGKAI_TEST_KEYCLOAK_URL=http://127.0.0.1:$KEYCLOAK_PORT"
        fi
    } >"$ENV_FILE.tmp"
    mv "$ENV_FILE.tmp" "$ENV_FILE"
    if (( rc != 0 )); then
        say "up FAILED after $(elapsed) (see above; up: postgres=$OK_postgres kafka=$OK_kafka keycloak=$OK_keycloak); 'deploy/infra.sh down' stops what did start"
        return 1
    fi
    say "up in $(elapsed); source $ENV_FILE"
}

cmd_down() {
    rm -f "$ENV_FILE"
    all stop
    say "down in $(elapsed)"
}

cmd_status() {
    local rc=0
    "$SCRIPT_DIR/postgres.sh" status || rc=3
    "$SCRIPT_DIR/kafka.sh" status || rc=3
    if [[ $WITH_KEYCLOAK == 1 ]]; then "$SCRIPT_DIR/keycloak.sh" status || rc=3; fi
    if [[ -f $ENV_FILE ]]; then echo "env: $ENV_FILE"; fi
    return "$rc"
}

cmd_install() {
    "$SCRIPT_DIR/postgres.sh" install
    "$SCRIPT_DIR/kafka.sh" install
    if [[ $WITH_KEYCLOAK == 1 ]]; then "$SCRIPT_DIR/keycloak.sh" install; fi
    say "installed in $(elapsed)"
}

case ${1:-} in
    up)      cmd_up ;;
    down)    cmd_down ;;
    status)  cmd_status ;;
    install) cmd_install ;;
    *) echo "usage: $0 {up|down|status|install}" >&2; exit 2 ;;
esac
