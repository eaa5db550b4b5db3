#!/usr/bin/env bash
# deploy/kafka.sh — a real single-node Apache Kafka (KRaft, combined
# broker+controller) for tests and local runs, without Docker.
#
#   kafka.sh install   resolve the broker jars from Maven Central (cached)
#   kafka.sh start     install if needed, format once, start, wait until ready
#   kafka.sh stop      SIGTERM, wait, then SIGKILL; harmless if not running
#   kafka.sh status    exit 0 if running and listening, 3 otherwise
#   kafka.sh reset     stop and delete the broker's data (next start formats anew)
#
# Environment (all optional):
#   GONGKAI_CACHE                  jar cache root      (~/.cache/gongkai)
#   GONGKAI_INFRA_DIR              runtime state root  (<repo>/var/infra)
#   GONGKAI_KAFKA_PORT             client listener     (19092, on 127.0.0.1)
#   GONGKAI_KAFKA_CONTROLLER_PORT  KRaft controller    (19093, on 127.0.0.1)
#   GONGKAI_KAFKA_HEAP             JVM -Xmx            (512m)
#   GONGKAI_KAFKA_JAVA_OPTS        extra JVM options
#   GONGKAI_KAFKA_START_TIMEOUT    seconds to wait for readiness (90)
#   GONGKAI_KAFKA_STOP_TIMEOUT     seconds between SIGTERM and SIGKILL (30)
#   GONGKAI_MAVEN_REPO             Maven local repo    (Maven's default, ~/.m2/repository)
#   JAVA_HOME                      Java 17+ to use     (else `java` on PATH)
# See docs/infra.md.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/.." && pwd)
POM=$SCRIPT_DIR/kafka/pom.xml
LOG4J_CONF=$SCRIPT_DIR/kafka/log4j2.properties
KAFKA_VERSION=$(sed -n 's:.*<kafka\.version>\(.*\)</kafka\.version>.*:\1:p' "$POM")

CACHE_ROOT=${GONGKAI_CACHE:-$HOME/.cache/gongkai}
LIB_DIR=$CACHE_ROOT/kafka-$KAFKA_VERSION
INFRA_DIR=${GONGKAI_INFRA_DIR:-$REPO_DIR/var/infra}
KAFKA_DIR=$INFRA_DIR/kafka
DATA_DIR=$KAFKA_DIR/data
PROPS=$KAFKA_DIR/server.properties
PID_FILE=$KAFKA_DIR/kafka.pid
LOG_FILE=$KAFKA_DIR/server.log
PORT=${GONGKAI_KAFKA_PORT:-19092}
CPORT=${GONGKAI_KAFKA_CONTROLLER_PORT:-19093}
HEAP=${GONGKAI_KAFKA_HEAP:-512m}
READY_TIMEOUT=${GONGKAI_KAFKA_START_TIMEOUT:-90}
STOP_TIMEOUT=${GONGKAI_KAFKA_STOP_TIMEOUT:-30}

# ---------------------------------------------------------------- helpers
T0=$EPOCHREALTIME
say() { printf '[kafka] %s\n' "$*" >&2; }
die() { printf '[kafka] ERROR: %s\n' "$*" >&2; exit 1; }
elapsed() {  # seconds since T0, one decimal
    local us=$(( ${EPOCHREALTIME/./} - ${T0/./} ))
    printf '%d.%ds' $(( us / 1000000 )) $(( us / 100000 % 10 ))
}
alive() {  # process exists and is not a zombie (a PID 1 may not reap)
    local st
    st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    st=${st##*) }
    [[ ${st%% *} != Z ]]
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
java_bin() {
    if [[ -n ${JAVA_HOME:-} && -x $JAVA_HOME/bin/java ]]; then echo "$JAVA_HOME/bin/java"; else command -v java; fi
}
as_root_apt_install() {  # apt-get install the given Debian packages, root only
    [[ $(id -u) -eq 0 ]] || die "missing $*; install it (not root, so not doing it myself)"
    say "installing Debian packages: $* (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq "$@" >&2
}
ensure_mvn() {
    if ! command -v mvn >/dev/null 2>&1; then as_root_apt_install maven; fi
}
ensure_java() {
    local java; java=$(java_bin 2>/dev/null) || java=
    if [[ -z $java ]]; then as_root_apt_install openjdk-17-jre-headless; java=$(java_bin); fi
    local major
    major=$("$java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)
    [[ ${major:-0} -ge 17 ]] || die "Kafka $KAFKA_VERSION needs Java 17+, $java is ${major:-unknown} (set JAVA_HOME)"
}
pom_stamp() { sha256sum "$POM" | cut -d' ' -f1; }
installed() { [[ -f $LIB_DIR/.complete && $(cat "$LIB_DIR/.complete") == "$(pom_stamp)" ]]; }

# The pid in PID_FILE, if that process is alive and is our broker.
running_pid() {
    [[ -f $PID_FILE ]] || return 1
    local pid; pid=$(cat "$PID_FILE" 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "kafka.Kafka $PROPS" || return 1
    echo "$pid"
}

[[ -n $KAFKA_VERSION ]] || die "no <kafka.version> in $POM"

# ---------------------------------------------------------------- install
cmd_install() {
    if installed; then
        say "Kafka $KAFKA_VERSION already installed in $LIB_DIR"
        return 0
    fi
    ensure_java
    ensure_mvn
    mkdir -p "$CACHE_ROOT"
    exec 8>"$CACHE_ROOT/.kafka-$KAFKA_VERSION.lock"
    flock 8                                   # one resolver per cache at a time
    if installed; then
        exec 8>&-
        say "Kafka $KAFKA_VERSION installed by a concurrent run"
        return 0
    fi
    say "resolving Kafka $KAFKA_VERSION jars from Maven Central into $LIB_DIR ..."
    local tmp=$LIB_DIR.tmp.$$
    rm -rf "$tmp"
    local mvn_args=(-B -q -Dstyle.color=never -f "$POM"
                    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp")
    if [[ -n ${GONGKAI_MAVEN_REPO:-} ]]; then
        mvn_args=(-Dmaven.repo.local="$GONGKAI_MAVEN_REPO" "${mvn_args[@]}")
    fi
    # Debian's Maven 3.8.7 prints stray ANSI resets even with -B -q: strip them.
    if ! (cd "$SCRIPT_DIR/kafka" && mvn "${mvn_args[@]}" 2>&1 | sed -e 's/\x1b\[[0-9;]*m//g' -e '/^$/d' >&2); then
        rm -rf "$tmp"
        die "mvn dependency:copy-dependencies failed (see above)"
    fi
    [[ -f $tmp/kafka_2.13-$KAFKA_VERSION.jar ]] || { rm -rf "$tmp"; die "kafka_2.13-$KAFKA_VERSION.jar missing after resolve"; }
    pom_stamp >"$tmp/.complete"
    rm -rf "$LIB_DIR"
    mv "$tmp" "$LIB_DIR"
    exec 8>&-
    local jars; jars=("$LIB_DIR"/*.jar)
    say "installed Kafka $KAFKA_VERSION (${#jars[@]} jars, $(du -sh "$LIB_DIR" | cut -f1)) in $(elapsed)"
}

# ---------------------------------------------------------------- start
write_props() {
    cat >"$PROPS.tmp" <<EOF
# Generated by deploy/kafka.sh on every start: edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CPORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA_DIR

auto.create.topics.enable=true
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
share.coordinator.state.topic.num.partitions=1
group.initial.rebalance.delay.ms=0
# After a restart the controller refuses the broker's new registration until
# the old one's session expires (DUPLICATE_BROKER_REGISTRATION): 9 s by
# default, ~3 s with these.  Heartbeats stay on loopback inside one JVM.
broker.session.timeout.ms=3000
broker.heartbeat.interval.ms=500

num.network.threads=2
num.io.threads=4
log.retention.hours=24
EOF
    mv "$PROPS.tmp" "$PROPS"
}

cluster_id() {  # 16 random bytes, url-safe base64 without padding: 22 chars
    # Never starting with '-': the storage tool would read such an id as an option
    # (seen in CI: "argument --cluster-id/-t: expected one argument"), 1 time in 64.
    local id
    while :; do
        id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
        [[ $id == -* ]] || { printf '%s\n' "$id"; return; }
    done
}

wait_ready() {  # $1 = pid
    local pid=$1 deadline=$(( SECONDS + READY_TIMEOUT ))
    while (( SECONDS < deadline )); do
        if ! alive "$pid"; then
            rm -f "$PID_FILE"
            say "broker process $pid exited during startup; last lines of $LOG_FILE:"
            tail -n 40 "$LOG_FILE" >&2 || true
            die "Kafka failed to start"
        fi
        if port_open "$PORT" && grep -q 'Kafka Server started' "$LOG_FILE" 2>/dev/null; then
            return 0
        fi
        sleep 0.25
    done
    say "not ready after ${READY_TIMEOUT}s; last lines of $LOG_FILE:"
    tail -n 40 "$LOG_FILE" >&2 || true
    die "Kafka did not become ready on 127.0.0.1:$PORT (pid $pid still running; 'kafka.sh stop' to end it)"
}

cmd_start() {
    mkdir -p "$KAFKA_DIR"
    exec 9>"$KAFKA_DIR/.lock"
    flock 9                                   # serialise concurrent start/stop
    local pid
    if pid=$(running_pid); then
        if port_open "$PORT"; then
            say "already running (pid $pid) on 127.0.0.1:$PORT"
            return 0
        fi
        say "pid $pid is starting; waiting for it"
        wait_ready "$pid"
        say "ready (pid $pid) on 127.0.0.1:$PORT after $(elapsed)"
        return 0
    fi
    rm -f "$PID_FILE"
    local p
    for p in "$PORT" "$CPORT"; do
        if port_open "$p"; then
            die "127.0.0.1:$p is taken by another process, not this broker: $(ss -ltnpH "sport = :$p" 2>/dev/null | head -1)"
        fi
    done
    if ! installed; then cmd_install; fi
    ensure_java
    local java; java=$(java_bin)

    write_props
    mkdir -p "$DATA_DIR"
    if [[ ! -f $DATA_DIR/meta.properties ]]; then
        local cid; cid=$(cluster_id)
        say "formatting $DATA_DIR (cluster id $cid)"
        "$java" -Xmx256m -Dlog4j2.configurationFile="$LOG4J_CONF" -cp "$LIB_DIR/*" \
            kafka.tools.StorageTool format -t "$cid" -c "$PROPS" >"$KAFKA_DIR/format.log" 2>&1 \
            || { cat "$KAFKA_DIR/format.log" >&2; die "formatting the log dir failed"; }
    fi

    if [[ -f $LOG_FILE ]]; then mv -f "$LOG_FILE" "$LOG_FILE.1"; fi
    say "starting Kafka $KAFKA_VERSION on 127.0.0.1:$PORT (controller :$CPORT), log $LOG_FILE"
    # setsid: own session, so the broker outlives the calling shell and its
    # Ctrl-C; the inner shell writes its pid and execs java, keeping the pid.
    # shellcheck disable=SC2016,SC2086  # $$ is the inner shell's; JAVA_OPTS split on purpose
    setsid bash -c 'echo $$ >"$0"; exec "$@"' "$PID_FILE" \
        "$java" -Xms"$HEAP" -Xmx"$HEAP" -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
        -Dlog4j2.configurationFile="$LOG4J_CONF" ${GONGKAI_KAFKA_JAVA_OPTS:-} \
        -cp "$LIB_DIR/*" kafka.Kafka "$PROPS" \
        </dev/null >"$LOG_FILE" 2>&1 8>&- 9>&- &      # the broker must not inherit our locks
    local deadline=$(( SECONDS + 5 ))
    until [[ -s $PID_FILE ]] || (( SECONDS >= deadline )); do sleep 0.05; done
    pid=$(cat "$PID_FILE" 2>/dev/null) || die "no pid file written"
    wait_ready "$pid"
    say "ready (pid $pid) on 127.0.0.1:$PORT after $(elapsed)"
}

# ---------------------------------------------------------------- stop/status
cmd_stop() {
    mkdir -p "$KAFKA_DIR"
    exec 9>"$KAFKA_DIR/.lock"
    flock 9
    local pid
    if ! pid=$(running_pid); then
        rm -f "$PID_FILE"
        say "not running"
        return 0
    fi
    say "stopping pid $pid (SIGTERM, up to ${STOP_TIMEOUT}s)"
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$(( SECONDS + STOP_TIMEOUT ))
    while alive "$pid" && (( SECONDS < deadline )); do sleep 0.2; done
    if alive "$pid"; then
        say "still running after ${STOP_TIMEOUT}s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        deadline=$(( SECONDS + 10 ))
        while alive "$pid" && (( SECONDS < deadline )); do sleep 0.1; done
        if alive "$pid"; then die "pid $pid survived SIGKILL"; fi
    fi
    rm -f "$PID_FILE"
    say "stopped in $(elapsed)"
}

cmd_status() {
    local pid
    if pid=$(running_pid) && port_open "$PORT"; then
        echo "kafka: running (pid $pid) on 127.0.0.1:$PORT, version $KAFKA_VERSION, data $DATA_DIR"
        return 0
    elif [[ -n ${pid:-} ]]; then
        echo "kafka: starting (pid $pid), 127.0.0.1:$PORT not yet listening"
        return 3
    fi
    local inst=no; installed && inst=yes
    echo "kafka: stopped (installed: $inst, $LIB_DIR)"
    return 3
}

cmd_reset() {
    cmd_stop
    rm -rf "$DATA_DIR" "$PROPS" "$LOG_FILE" "$LOG_FILE.1" "$KAFKA_DIR/format.log"
    say "data removed ($DATA_DIR)"
}

case ${1:-} in
    install) cmd_install ;;
    start)   cmd_start ;;
    stop)    cmd_stop ;;
    status)  cmd_status ;;
    reset)   cmd_reset ;;
    *) echo "usage: $0 {install|start|stop|status|reset}" >&2; exit 2 ;;
esac
