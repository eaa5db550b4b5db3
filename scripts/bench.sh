#!/usr/bin/env bash
# The benchmark command behind `make bench` (issue #10): every bench in bench/, each with
# its peer or limit measured in the same run. Scripts, not tests: nothing here asserts a
# speed. Results and their reading: docs/performance.md.
#
#   bash scripts/bench.sh            # the full set (estimate below)
#   bash scripts/bench.sh --quick    # smaller sizes, shorter runs
#   BENCH_OUT=dir bash scripts/bench.sh   # also keep each bench's JSON and report in dir
#
# Timed end to end on the 2-vCPU VM with PostgreSQL (fsync on) and Kafka up, 2026-12-07:
# 760 s for the full set (issue #22: under 15 minutes) — eventstore 39 s, kafka 13 s, e2e
# 105 s, replay at one million events 131 s, scoreboard 47 s, audit 5 s, catalog_search
# 19 s, portal at 10,000 documents 248 s, workbench at 50,000 requests 142 s, classifier
# 9 s; 907 s before its sizes were trimmed to what the issues name.
#
# 1. Starts real PostgreSQL and Kafka with deploy/infra.sh unless their addresses are
#    given (GONGKAI_BENCH_DATABASE_URL / GONGKAI_TEST_DATABASE_URL and
#    GONGKAI_BENCH_KAFKA_BOOTSTRAP / GONGKAI_TEST_KAFKA_BOOTSTRAP); stops what it started.
# 2. Runs each bench in turn; one that fails is reported and the others still run.
# The classifier bench reads the labelled sample where it lies (GONGKAI_BENCH_MESSAGES,
# default ../shared/data/citizen-messages/messages_labeled_sample.csv); without it, skipped.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
BIN=.venv/bin
quick=0
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    *) echo "usage: scripts/bench.sh [--quick]" >&2; exit 2 ;;
  esac
done

started=0
url="${GONGKAI_BENCH_DATABASE_URL:-${GONGKAI_TEST_DATABASE_URL:-}}"
bootstrap="${GONGKAI_BENCH_KAFKA_BOOTSTRAP:-${GONGKAI_TEST_KAFKA_BOOTSTRAP:-}}"
if [[ ( -z "$url" || -z "$bootstrap" ) && -f "${GONGKAI_INFRA_DIR:-var/infra}/env" ]]; then
  # infrastructure already up (deploy/infra.sh up wrote its addresses): use it, leave it up
  # shellcheck disable=SC1091
  source "${GONGKAI_INFRA_DIR:-var/infra}/env"
  url="${url:-$GONGKAI_TEST_DATABASE_URL}"
  bootstrap="${bootstrap:-$GONGKAI_TEST_KAFKA_BOOTSTRAP}"
fi
if [[ -z "$url" || -z "$bootstrap" ]]; then
  if GONGKAI_INFRA_KEYCLOAK=0 bash deploy/infra.sh up; then
    started=1
    # shellcheck disable=SC1091
    source "${GONGKAI_INFRA_DIR:-var/infra}/env"
    url="$GONGKAI_TEST_DATABASE_URL"
    bootstrap="$GONGKAI_TEST_KAFKA_BOOTSTRAP"
  else
    echo "bench.sh: could not start PostgreSQL/Kafka; only the SQLite and embedded parts run" >&2
  fi
fi
cleanup() { if [[ $started == 1 ]]; then GONGKAI_INFRA_KEYCLOAK=0 bash deploy/infra.sh down || true; fi; }
trap cleanup EXIT
export GONGKAI_BENCH_DATABASE_URL="$url" GONGKAI_BENCH_KAFKA_BOOTSTRAP="$bootstrap"
out="${BENCH_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/gongkai-bench.XXXXXX")}"
mkdir -p "$out"

failed=()
run() {  # run NAME ARGS...: one bench, its report on stdout and in $out/NAME.txt
  local name=$1; shift
  echo
  echo "================================================================ $name"
  local t0=$SECONDS
  if "$BIN/python" -m "bench.$name" "$@" --json "$out/$name.json" | tee "$out/$name.txt"; then
    echo "($name took $((SECONDS - t0)) s)"
  else
    echo "bench.sh: bench.$name FAILED (see above)" >&2
    failed+=("$name")
  fi
}

have_pg=0; [[ -n "$url" ]] && have_pg=1
pg=(); [[ $have_pg == 1 ]] && pg=(--database-url "$url")
have_kafka=0; [[ -n "$url" && -n "$bootstrap" ]] && have_kafka=1
messages="${GONGKAI_BENCH_MESSAGES:-../shared/data/citizen-messages/messages_labeled_sample.csv}"
t_all=$SECONDS

if [[ $quick == 1 ]]; then
  # 1 append (SQLite + PostgreSQL), 2 Kafka bus, 3 end to end, 4 replay, 5 assessment, 6 classifier
  run eventstore --events 500 --writers 1,8 "${pg[@]}"
  [[ $have_kafka == 1 ]] && run kafka --events 5000 --repeats 1
  if [[ $have_kafka == 1 ]]; then
    run e2e --mode distributed --seconds 10 --steps 10,20,50,100,200 --step-seconds 6
  else
    run e2e --mode embedded --seconds 10 --steps 10,20,50,100,200 --step-seconds 6
  fi
  run replay --events 20000 --sizes 5000 "${pg[@]}"
  if [[ $have_kafka == 1 ]]; then
    run scoreboard --seconds 10 --settle 10
  else
    run scoreboard --mode embedded --seconds 10 --settle 10
  fi
  run audit --events 5000 "${pg[@]}"
  run catalog_search --documents 300 --queries 20 "${pg[@]}"
else
  # The whole run is kept under 15 minutes on the 2-core VM (issue #22): what is measured
  # is what the issues name — PostgreSQL with fsync on where it is up, the distributed suite
  # where Kafka is — and each bench still runs alone for the other sizes and modes.
  run eventstore --writers 1,8 "${pg[@]}"
  [[ $have_kafka == 1 ]] && run kafka --events 10000 --repeats 2
  # item 3: 200 commands/s sustained for 60 s, then steps up to the highest rate under 250 ms
  e2e=(--seconds 60 --steps "100,150,200,250" --step-seconds 8)
  if [[ $have_kafka == 1 ]]; then
    run e2e --mode distributed "${e2e[@]}"
  else
    run e2e --mode embedded "${e2e[@]}"
  fi
  # items 4 and 7 at their sizes: replay from one million events, flat cost at 10k, 100k
  # and 1M (≈2.3 min on PostgreSQL alone; SQLite: `python -m bench.replay --engine sqlite`)
  if [[ $have_pg == 1 ]]; then
    run replay --events 1000000 --sizes 10000,100000 --engine postgres "${pg[@]}"
  else
    run replay --events 1000000 --sizes 10000,100000 --engine sqlite
  fi
  if [[ $have_kafka == 1 ]]; then
    run scoreboard --seconds 10 --settle 10
  else
    run scoreboard --mode embedded --seconds 10 --settle 10
  fi
  run audit "${pg[@]}"
  run catalog_search "${pg[@]}"
fi
if bash deploy/bench-tools.sh; then  # nginx and wrk from Debian, the portal's peer and load
  # the portal as a deployment serves public traffic: its own `serve portal` process
  portal_mode=embedded; [[ $have_kafka == 1 ]] && portal_mode=distributed
  if [[ $quick == 1 ]]; then
    run portal --mode "$portal_mode" --documents 2000 --seconds 5
  else
    run portal --mode "$portal_mode" --seconds 3
  fi
else
  echo "bench.sh: nginx/wrk could not be installed; bench.portal skipped"
fi
# the workbench's pages beside the JSON API, embedded (issue #17); at 100,000 requests most
# of its time is the projections catching up with the seeded half-million events
if [[ $quick == 1 ]]; then
  run workbench --requests 10000 --samples 100
else
  # at 50,000 requests in this run (half the seeding and catch-up); the 100,000 figure of
  # docs/workbench.md is `python -m bench.workbench` alone
  run workbench --requests 50000 --samples 150
fi
if [[ -f "$messages" ]]; then
  run classifier "$messages"
else
  echo "bench.sh: $messages not found; bench.classifier skipped (set GONGKAI_BENCH_MESSAGES)"
fi
[[ $have_pg == 0 ]] && echo "bench.sh: no PostgreSQL: the PostgreSQL rows were skipped"
[[ $have_kafka == 0 ]] && echo "bench.sh: no Kafka: bench.kafka and the distributed runs were skipped"

echo
echo "bench.sh: all benches took $((SECONDS - t_all)) s; reports and JSON in $out"
if (( ${#failed[@]} )); then
  echo "bench.sh: FAILED: ${failed[*]}" >&2
  exit 1
fi
