#!/usr/bin/env bash
# deploy/keycloak.sh — a real Keycloak (OpenID Connect identity provider) for tests and
# local runs, without Docker: Maven Central's keycloak-quarkus-dist zip, built once for a
# dev-file (H2) store, started on loopback with its data under <infra dir>/keycloak, and the
# test realm `gongkai` (client, users, account mapping) written by deploy/keycloak/realm.py.
#
#   keycloak.sh install   download + verify (sha1) + unzip + `kc.sh build`, cached
#   keycloak.sh start     install if needed, start, wait until healthy, (re)create the realm
#   keycloak.sh up        = start
#   keycloak.sh stop      SIGTERM, wait, then SIGKILL; harmless if not running
#   keycloak.sh down      = stop
#   keycloak.sh status    exit 0 if running and healthy, 3 otherwise
#   keycloak.sh reset     stop and delete the server's data (next start creates it anew,
#                         from the cached template database when there is one)
#   keycloak.sh java      print the Java it would use (and why), exit 1 if none fits
#   keycloak.sh prereqs   only the Debian packages install/start need (Java, curl, unzip):
#                         apt-get when missing and root; infra.sh runs it before the parallel starts
#
# Environment (all optional):
#   GONGKAI_CACHE                     download/build cache  (~/.cache/gongkai)
#   GONGKAI_INFRA_DIR                 runtime state root    (<repo>/var/infra)
#   GONGKAI_KEYCLOAK_PORT             HTTP port             (18080, on 127.0.0.1)
#   GONGKAI_KEYCLOAK_MANAGEMENT_PORT  health port           (18081, on 127.0.0.1)
#   GONGKAI_KEYCLOAK_HEAP             JVM -Xmx              (512m)
#   GONGKAI_KEYCLOAK_JAVA_OPTS        extra JVM options     (see DEFAULT_JAVA_OPTS below)
#   GONGKAI_KEYCLOAK_JAVA_HOME        the Java to use       (else the newest >= 21 found, else 17)
#   GONGKAI_KEYCLOAK_START_TIMEOUT    seconds to wait for health (180)
#   GONGKAI_KEYCLOAK_STOP_TIMEOUT     seconds between SIGTERM and SIGKILL (30)
#   GONGKAI_MAVEN_CENTRAL             Maven repository URL  (https://repo1.maven.org/maven2)
# See docs/infra.md ("Keycloak").
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/.." && pwd)
KC_VERSION=26.4.7
# Options fixed at `kc.sh build` time (Quarkus augmentation); a change rebuilds the cache.
BUILD_OPTS=(--db=dev-file --health-enabled=true)

CACHE_ROOT=${GONGKAI_CACHE:-$HOME/.cache/gongkai}
MAVEN=${GONGKAI_MAVEN_CENTRAL:-https://repo1.maven.org/maven2}
ZIP_URL=$MAVEN/org/keycloak/keycloak-quarkus-dist/$KC_VERSION/keycloak-quarkus-dist-$KC_VERSION.zip
ZIP=$CACHE_ROOT/keycloak-quarkus-dist-$KC_VERSION.zip
KC_HOME=$CACHE_ROOT/keycloak-$KC_VERSION
TEMPLATE_DIR=$KC_HOME/template
INFRA_DIR=${GONGKAI_INFRA_DIR:-$REPO_DIR/var/infra}
KC_DIR=$INFRA_DIR/keycloak
DATA_DIR=$KC_DIR/data
PID_FILE=$KC_DIR/keycloak.pid
LOG_FILE=$KC_DIR/server.log
ADMIN_PW_FILE=$KC_DIR/admin-password
PORT=${GONGKAI_KEYCLOAK_PORT:-18080}
MPORT=${GONGKAI_KEYCLOAK_MANAGEMENT_PORT:-18081}
HEAP=${GONGKAI_KEYCLOAK_HEAP:-512m}
READY_TIMEOUT=${GONGKAI_KEYCLOAK_START_TIMEOUT:-180}
JAVA_OPTS_EXTRA=${GONGKAI_KEYCLOAK_JAVA_OPTS-}
STOP_TIMEOUT=${GONGKAI_KEYCLOAK_STOP_TIMEOUT:-30}

# ---------------------------------------------------------------- helpers
T0=$EPOCHREALTIME
say() { printf '[keycloak] %s\n' "$*" >&2; }
die() { printf '[keycloak] ERROR: %s\n' "$*" >&2; exit 1; }
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
healthy() {  # GET /health/ready on the management port answers 200 (bash only, no curl)
    local line
    line=$( (exec 3<>"/dev/tcp/127.0.0.1/$MPORT" || exit 1
             printf 'GET /health/ready HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
             timeout 5 head -n1 <&3) 2>/dev/null) || return 1
    [[ $line == "HTTP/1."?" 200"* ]]
}
as_root_apt_install() {  # apt-get install the given Debian packages, root only
    [[ $(id -u) -eq 0 ]] || die "missing $*; install it (not root, so not doing it myself)"
    say "installing Debian packages: $* (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
        --no-install-recommends "$@" >&2
}
java_major() {  # $1 = a java binary; prints its feature version (17, 21, 25...) or nothing
    "$1" -XshowSettings:properties -version 2>&1 \
        | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p' | head -1
}

# The Java to run Keycloak with. Keycloak 26 supports Java 21 and 25 and still runs on 17
# (deprecated since 26.0; verified: 26.4.7 starts on 17.0.15). Order: an explicit
# GONGKAI_KEYCLOAK_JAVA_HOME (must be >= 17); else the newest >= 21 among JAVA_HOME,
# /usr/lib/jvm/* and `java` on PATH; else the newest 17 among them. Sets JAVA and JAVA_WHY.
find_java() {
    JAVA= JAVA_WHY= JAVA_MAJOR=0
    if [[ -n ${GONGKAI_KEYCLOAK_JAVA_HOME:-} ]]; then
        local j=$GONGKAI_KEYCLOAK_JAVA_HOME/bin/java m
        [[ -x $j ]] || { JAVA_WHY="GONGKAI_KEYCLOAK_JAVA_HOME=$GONGKAI_KEYCLOAK_JAVA_HOME has no bin/java"; return 1; }
        m=$(java_major "$j")
        (( ${m:-0} >= 17 )) || { JAVA_WHY="$j is Java ${m:-unknown}; Keycloak $KC_VERSION needs 17+ (21+ preferred)"; return 1; }
        JAVA=$j JAVA_MAJOR=$m JAVA_WHY="Java $m from GONGKAI_KEYCLOAK_JAVA_HOME"
        return 0
    fi
    local cands=() c best= best_m=0 m
    [[ -n ${JAVA_HOME:-} ]] && cands+=("$JAVA_HOME/bin/java")
    for c in /usr/lib/jvm/*/bin/java; do cands+=("$c"); done
    c=$(command -v java 2>/dev/null) && cands+=("$(readlink -f "$c")")
    for c in "${cands[@]}"; do
        [[ -x $c ]] || continue
        m=$(java_major "$c")
        if (( ${m:-0} > best_m )); then best=$c best_m=$m; fi
    done
    if (( best_m >= 21 )); then
        JAVA=$best JAVA_MAJOR=$best_m JAVA_WHY="Java $best_m (newest found)"
    elif (( best_m == 17 )); then
        JAVA=$best JAVA_MAJOR=17 JAVA_WHY="Java 17 (no Java 21+ found; Keycloak $KC_VERSION runs on 17, deprecated upstream)"
    else
        JAVA_WHY="no Java 17+ found (looked at JAVA_HOME, /usr/lib/jvm/*, PATH; best: ${best:-none} ${best_m})"
        return 1
    fi
}
ensure_java() {
    if find_java; then return 0; fi
    say "$JAVA_WHY"
    # Debian 13 ships openjdk-21; Debian 12 (this project's base) only openjdk-17.
    local pkg=openjdk-17-jre-headless
    if apt-cache show openjdk-21-jre-headless >/dev/null 2>&1; then pkg=openjdk-21-jre-headless; fi
    as_root_apt_install "$pkg"
    find_java || die "$JAVA_WHY (after installing $pkg); set GONGKAI_KEYCLOAK_JAVA_HOME"
}
build_stamp() { printf '%s %s\n' "$KC_VERSION" "${BUILD_OPTS[*]}"; }
installed() { [[ -f $KC_HOME/.complete && $(cat "$KC_HOME/.complete") == "$(build_stamp)" ]]; }

# The pid in PID_FILE, if that process is alive and is our server (kc.sh runs java as a child).
# If kc.sh itself was killed, its java lives on in the process group kc.sh led (setsid made
# the group id the pid in the file): then that java's pid, so stop/status still find it.
running_pid() {
    [[ -f $PID_FILE ]] || return 1
    local pid; pid=$(cat "$PID_FILE" 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    if alive "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$KC_HOME/bin/kc.sh start"; then
        echo "$pid"
        return 0
    fi
    local f st rest pgrp
    for f in /proc/[0-9]*/stat; do
        st=$(cat "$f" 2>/dev/null) || continue
        rest=${st##*) }                       # state ppid pgrp ...
        read -r _ _ pgrp _ <<<"$rest"
        [[ $pgrp == "$pid" ]] || continue
        f=${f%/stat}; f=${f#/proc/}
        if alive "$f" && tr '\0' ' ' <"/proc/$f/cmdline" 2>/dev/null | grep -q "kc.home.dir=$KC_HOME/bin/.."; then
            echo "$f"
            return 0
        fi
    done
    return 1
}

# ---------------------------------------------------------------- install
fetch_zip() {
    local want got
    if [[ -f $ZIP && -f $ZIP.sha1 ]]; then
        want=$(cut -c1-40 "$ZIP.sha1")
        got=$(sha1sum "$ZIP" | cut -d' ' -f1)
        [[ $want == "$got" ]] && return 0
        say "cached $ZIP does not match its sha1; downloading again"
    fi
    command -v curl >/dev/null 2>&1 || as_root_apt_install curl ca-certificates
    command -v unzip >/dev/null 2>&1 || as_root_apt_install unzip
    say "downloading $ZIP_URL ..."
    curl -fsSL --retry 3 -o "$ZIP.sha1.tmp" "$ZIP_URL.sha1" || die "cannot download $ZIP_URL.sha1"
    curl -fSL --retry 3 --progress-bar -o "$ZIP.tmp" "$ZIP_URL" || die "cannot download $ZIP_URL"
    want=$(cut -c1-40 "$ZIP.sha1.tmp")
    got=$(sha1sum "$ZIP.tmp" | cut -d' ' -f1)
    [[ $want =~ ^[0-9a-f]{40}$ && $want == "$got" ]] \
        || { rm -f "$ZIP.tmp" "$ZIP.sha1.tmp"; die "sha1 mismatch for $ZIP_URL: Maven Central says $want, got $got"; }
    mv "$ZIP.sha1.tmp" "$ZIP.sha1"
    mv "$ZIP.tmp" "$ZIP"
    say "downloaded and verified (sha1 $got, $(du -h "$ZIP" | cut -f1)) in $(elapsed)"
}

cmd_install() {
    if installed; then
        say "Keycloak $KC_VERSION already installed and built in $KC_HOME"
        return 0
    fi
    ensure_java
    mkdir -p "$CACHE_ROOT"
    exec 8>"$CACHE_ROOT/.keycloak-$KC_VERSION.lock"
    flock 8                                   # one installer per cache at a time
    if installed; then
        exec 8>&-
        say "Keycloak $KC_VERSION installed by a concurrent run"
        return 0
    fi
    fetch_zip
    local tmp=$KC_HOME.tmp.$$
    rm -rf "$tmp"
    mkdir -p "$tmp"
    say "unpacking into $KC_HOME ..."
    unzip -q "$ZIP" -d "$tmp" || { rm -rf "$tmp"; die "unzip $ZIP failed"; }
    [[ -x $tmp/keycloak-$KC_VERSION/bin/kc.sh ]] || { rm -rf "$tmp"; die "no bin/kc.sh in $ZIP"; }
    rm -rf "$KC_HOME"
    mv "$tmp/keycloak-$KC_VERSION" "$KC_HOME"
    rmdir "$tmp"
    # Augment once (Quarkus build): `start --optimized` then skips it at every start.
    # Built in its final place: the build records paths under kc.home.dir.
    say "building (kc.sh build ${BUILD_OPTS[*]}) with $JAVA_WHY ..."
    if ! JAVA=$JAVA "$KC_HOME/bin/kc.sh" build "${BUILD_OPTS[@]}" >"$KC_HOME/build.log" 2>&1; then
        cat "$KC_HOME/build.log" >&2
        rm -rf "$KC_HOME"
        die "kc.sh build failed"
    fi
    rm -rf "$KC_HOME/data"                    # the build leaves nothing we need there
    build_stamp >"$KC_HOME/.complete"
    exec 8>&-
    say "installed Keycloak $KC_VERSION ($(du -sh "$KC_HOME" | cut -f1)) in $(elapsed)"
}

# ---------------------------------------------------------------- start
wait_ready() {  # $1 = pid
    local pid=$1 deadline=$(( SECONDS + READY_TIMEOUT )) next=$(( SECONDS + 10 ))
    while (( SECONDS < deadline )); do
        if ! alive "$pid"; then
            rm -f "$PID_FILE"
            say "server process $pid exited during startup; last lines of $LOG_FILE:"
            tail -n 40 "$LOG_FILE" >&2 || true
            die "Keycloak failed to start"
        fi
        if healthy; then return 0; fi
        if (( SECONDS >= next )); then
            say "… still starting ($(elapsed)): $(grep -E '^[0-9-]+ [0-9:,]+ ' "$LOG_FILE" 2>/dev/null | tail -n1 | cut -c25-150)"
            next=$(( SECONDS + 10 ))
        fi
        sleep 0.25
    done
    say "not healthy after ${READY_TIMEOUT}s; last lines of $LOG_FILE:"
    tail -n 40 "$LOG_FILE" >&2 || true
    die "Keycloak did not become ready on 127.0.0.1:$PORT (pid $pid still running; 'keycloak.sh stop' ends it)"
}

python_bin() {  # the project's venv if there is one, else python3 (realm.py needs only the stdlib)
    if [[ -x $REPO_DIR/.venv/bin/python ]]; then echo "$REPO_DIR/.venv/bin/python"; else command -v python3; fi
}

realm_stamp() { cat "$SCRIPT_DIR/keycloak/realm.json" "$SCRIPT_DIR/keycloak/realm.py" | sha256sum | cut -d' ' -f1; }

# (Re)create the test realm unless this database already holds the file's realm: the stamp
# lives in the data dir, so a new database (reset) or a changed realm.json/realm.py rewrites.
write_realm() {
    local stamp=$DATA_DIR/realm.sha256
    if [[ -f $stamp && $(cat "$stamp") == "$(realm_stamp)" ]]; then
        say "realm gongkai is up to date (deploy/keycloak/realm.json unchanged)"
        return 0
    fi
    local py; py=$(python_bin) || die "python3 is needed to write the test realm"
    local t=$EPOCHREALTIME
    rm -f "$stamp"
    GONGKAI_KEYCLOAK_URL=http://127.0.0.1:$PORT GONGKAI_KEYCLOAK_ADMIN=admin \
        GONGKAI_KEYCLOAK_ADMIN_PASSWORD=$(cat "$ADMIN_PW_FILE") \
        "$py" "$SCRIPT_DIR/keycloak/realm.py" "$SCRIPT_DIR/keycloak/realm.json" >&2 \
        || die "writing the test realm failed (deploy/keycloak/realm.py)"
    realm_stamp >"$stamp"
    local us=$(( ${EPOCHREALTIME/./} - ${t/./} ))
    say "realm written in $(( us / 1000 )) ms"
}

cmd_start() {
    mkdir -p "$KC_DIR"
    exec 9>"$KC_DIR/.lock"
    flock 9                                   # serialise concurrent start/stop
    local pid
    if pid=$(running_pid); then
        if healthy; then
            say "already running (pid $pid) on http://127.0.0.1:$PORT"
        else
            say "pid $pid is starting; waiting for it"
            wait_ready "$pid"
        fi
        write_realm
        say "ready (pid $pid) on http://127.0.0.1:$PORT after $(elapsed)"
        return 0
    fi
    rm -f "$PID_FILE"
    local p
    for p in "$PORT" "$MPORT"; do
        if port_open "$p"; then
            die "127.0.0.1:$p is taken by another process, not this Keycloak: $(ss -ltnpH "sport = :$p" 2>/dev/null | head -1)"
        fi
    done
    if ! installed; then cmd_install; fi
    ensure_java

    mkdir -p "$DATA_DIR"
    # The bootstrap admin is created with the database: a new database gets a new password.
    if [[ ! -f $DATA_DIR/keycloakdb.mv.db || ! -s $ADMIN_PW_FILE ]]; then
        rm -rf "$DATA_DIR"; mkdir -p "$DATA_DIR"
        if template_fits; then
            # A database that already holds the master realm and this realm.json's realm:
            # the start skips schema creation, master realm set-up and realm.py.
            cp "$TEMPLATE_DIR/keycloakdb.mv.db" "$TEMPLATE_DIR/realm.sha256" "$DATA_DIR/"
            (umask 077; cp "$TEMPLATE_DIR/admin-password" "$ADMIN_PW_FILE")
            say "new database in $DATA_DIR from the cached template $TEMPLATE_DIR (admin password in $ADMIN_PW_FILE)"
        else
            (umask 077; head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' >"$ADMIN_PW_FILE")
            say "new database in $DATA_DIR (bootstrap admin 'admin', password in $ADMIN_PW_FILE)"
        fi
    fi
    if [[ -f $LOG_FILE ]]; then mv -f "$LOG_FILE" "$LOG_FILE.1"; fi
    local opts=$JAVA_OPTS_EXTRA
    # Java 24+ warns at every start that Netty uses sun.misc.Unsafe (JEP 498); allow it quietly.
    if (( JAVA_MAJOR >= 24 )); then opts="--sun-misc-unsafe-memory-access=allow $opts"; fi
    say "starting Keycloak $KC_VERSION on http://127.0.0.1:$PORT (health :$MPORT) with $JAVA_WHY, log $LOG_FILE"
    # setsid: own session, so the server outlives the calling shell and its Ctrl-C; the inner
    # shell writes its pid and execs kc.sh, which runs java as its child and forwards SIGTERM.
    # The transaction log goes under our data dir, not into the shared cached distribution.
    # shellcheck disable=SC2016  # $$ is the inner shell's
    KC_BOOTSTRAP_ADMIN_USERNAME=admin KC_BOOTSTRAP_ADMIN_PASSWORD=$(cat "$ADMIN_PW_FILE") \
    JAVA=$JAVA JAVA_OPTS_KC_HEAP="-Xms64m -Xmx$HEAP" JAVA_OPTS_APPEND=$opts \
    setsid bash -c 'echo $$ >"$0"; exec "$@"' "$PID_FILE" \
        "$KC_HOME/bin/kc.sh" start --optimized \
        "-Dquarkus.transaction-manager.object-store.directory=$DATA_DIR/transaction-logs" \
        --db-url="jdbc:h2:file:$DATA_DIR/keycloakdb;NON_KEYWORDS=VALUE" \
        --cache=local \
        --http-enabled=true --http-host=127.0.0.1 --http-port="$PORT" \
        --http-management-port="$MPORT" \
        --hostname="http://127.0.0.1:$PORT" \
        --log-level=warn,org.keycloak.services:info,io.quarkus:info \
        </dev/null >"$LOG_FILE" 2>&1 8>&- 9>&- &      # the server must not inherit our locks
    local deadline=$(( SECONDS + 5 ))
    until [[ -s $PID_FILE ]] || (( SECONDS >= deadline )); do sleep 0.05; done
    pid=$(cat "$PID_FILE" 2>/dev/null) || die "no pid file written"
    wait_ready "$pid"
    say "healthy (pid $pid) on http://127.0.0.1:$PORT after $(elapsed)"
    write_realm
    say "ready after $(elapsed): issuer http://127.0.0.1:$PORT/realms/gongkai"
}

# ---------------------------------------------------------------- stop/status
cmd_stop() {
    mkdir -p "$KC_DIR"
    exec 9>"$KC_DIR/.lock"
    flock 9
    local pid
    if ! pid=$(running_pid); then
        rm -f "$PID_FILE"
        say "not running"
        return 0
    fi
    say "stopping pid $pid (SIGTERM, up to ${STOP_TIMEOUT}s)"
    kill -TERM "$pid" 2>/dev/null || true      # kc.sh forwards it to java and waits
    local deadline=$(( SECONDS + STOP_TIMEOUT ))
    while alive "$pid" && (( SECONDS < deadline )); do sleep 0.2; done
    if alive "$pid"; then
        say "still running after ${STOP_TIMEOUT}s: SIGKILL to its process group"
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        deadline=$(( SECONDS + 10 ))
        while alive "$pid" && (( SECONDS < deadline )); do sleep 0.1; done
        if alive "$pid"; then die "pid $pid survived SIGKILL"; fi
        rm -f "$PID_FILE"
        say "killed in $(elapsed) (database not saved as a template)"
        return 0
    fi
    rm -f "$PID_FILE"
    say "stopped in $(elapsed)"
    save_template
}

# The cached template database (<cache>/keycloak-<v>/template): a copy of a cleanly stopped
# database whose realm matches realm.json, taken at the first `stop` after it was written.
# A new data dir (fresh checkout, CI with a kept cache, `reset`) starts from it.
template_fits() {
    [[ -f $TEMPLATE_DIR/keycloakdb.mv.db && -s $TEMPLATE_DIR/admin-password
       && -f $TEMPLATE_DIR/realm.sha256 && $(cat "$TEMPLATE_DIR/realm.sha256") == "$(realm_stamp)" ]]
}
save_template() {
    template_fits && return 0
    [[ -f $DATA_DIR/keycloakdb.mv.db && -s $ADMIN_PW_FILE && -f $DATA_DIR/realm.sha256 ]] || return 0
    [[ $(cat "$DATA_DIR/realm.sha256") == "$(realm_stamp)" ]] || return 0
    installed || return 0
    exec 8>"$CACHE_ROOT/.keycloak-$KC_VERSION.lock"
    flock 8                                   # one writer of the cache at a time
    if template_fits; then exec 8>&-; return 0; fi
    local tmp=$TEMPLATE_DIR.tmp.$$
    rm -rf "$tmp"; mkdir -p "$tmp"
    (umask 077; cp "$DATA_DIR/keycloakdb.mv.db" "$DATA_DIR/realm.sha256" "$ADMIN_PW_FILE" "$tmp/") \
        || { rm -rf "$tmp"; exec 8>&-; say "could not save the template database (not needed)"; return 0; }
    rm -rf "$TEMPLATE_DIR"
    mv "$tmp" "$TEMPLATE_DIR"
    exec 8>&-
    say "saved this database as the template for new data dirs ($TEMPLATE_DIR)"
}

cmd_status() {
    local pid
    if pid=$(running_pid) && healthy; then
        echo "keycloak: running (pid $pid) on http://127.0.0.1:$PORT, version $KC_VERSION, data $DATA_DIR"
        return 0
    elif [[ -n ${pid:-} ]]; then
        echo "keycloak: starting (pid $pid), not yet healthy on 127.0.0.1:$MPORT"
        return 3
    fi
    local inst=no; installed && inst=yes
    echo "keycloak: stopped (installed: $inst, $KC_HOME)"
    return 3
}

cmd_reset() {
    cmd_stop
    rm -rf "$DATA_DIR" "$ADMIN_PW_FILE" "$LOG_FILE" "$LOG_FILE.1"
    say "data removed ($DATA_DIR)"
}

cmd_prereqs() {
    ensure_java
    if ! installed; then
        command -v curl >/dev/null 2>&1 || as_root_apt_install curl ca-certificates
        command -v unzip >/dev/null 2>&1 || as_root_apt_install unzip
    fi
    say "prerequisites present ($JAVA_WHY)"
}

cmd_java() {
    if find_java; then echo "$JAVA ($JAVA_WHY)"; else echo "$JAVA_WHY" >&2; return 1; fi
}

case ${1:-} in
    install)  cmd_install ;;
    start|up) cmd_start ;;
    stop|down) cmd_stop ;;
    status)   cmd_status ;;
    reset)    cmd_reset ;;
    java)     cmd_java ;;
    prereqs)  cmd_prereqs ;;
    *) echo "usage: $0 {install|start|up|stop|down|status|reset|java|prereqs}" >&2; exit 2 ;;
esac
