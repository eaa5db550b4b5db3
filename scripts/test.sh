#!/usr/bin/env bash
# The test command behind `make test` (and so behind .ci/run).
#
# 1. Starts real PostgreSQL and Kafka with deploy/infra.sh unless their addresses
#    are already given (GONGKAI_TEST_DATABASE_URL, GONGKAI_TEST_KAFKA_BOOTSTRAP).
# 2. Runs the whole pytest suite. With CI=true a test that needs missing
#    infrastructure FAILS (tests/conftest.py); locally it is skipped, and the
#    skip list with reasons is printed at the end.
# 3. Stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
started=0
in_ci=0
case "${CI:-}" in 1|true|TRUE|yes) in_ci=1 ;; esac

if [[ -z "${GONGKAI_TEST_DATABASE_URL:-}" || -z "${GONGKAI_TEST_KAFKA_BOOTSTRAP:-}" ]]; then
  # Test data is disposable: no fsync (GONGKAI_PG_FAST) makes the suite faster.
  if GONGKAI_PG_FAST=1 bash deploy/infra.sh up; then
    started=1
    # shellcheck disable=SC1091
    source "${GONGKAI_INFRA_DIR:-var/infra}/env"
  elif [[ $in_ci == 1 ]]; then
    echo "test.sh: CI=true and deploy/infra.sh could not start PostgreSQL and Kafka" >&2
    exit 1
  else
    echo "test.sh: could not start PostgreSQL/Kafka; their tests will be SKIPPED (see below)" >&2
  fi
fi
cleanup() { if [[ $started == 1 ]]; then bash deploy/infra.sh down || true; fi; }
trap cleanup EXIT
# The live scoreboard page is tested in Debian's chromium (deploy/chromium.sh installs it).
if ! bash deploy/chromium.sh; then
  if [[ $in_ci == 1 ]]; then
    echo "test.sh: CI=true and chromium could not be installed (deploy/chromium.sh)" >&2
    exit 1
  fi
  echo "test.sh: chromium could not be installed; the browser test will be SKIPPED" >&2
fi
# The workbench's browser tests: a CJK font and axe-core, pinned (deploy/browser-tools.sh).
if ! bash deploy/browser-tools.sh; then
  if [[ $in_ci == 1 ]]; then
    echo "test.sh: CI=true and deploy/browser-tools.sh could not install fonts or axe-core" >&2
    exit 1
  fi
  echo "test.sh: fonts or axe-core missing; the workbench browser tests will be SKIPPED" >&2
fi

# The alert rules' tests: Debian's promtool (deploy/promtool.sh).
if ! bash deploy/promtool.sh; then
  if [[ $in_ci == 1 ]]; then
    echo "test.sh: CI=true and promtool could not be installed (deploy/promtool.sh)" >&2
    exit 1
  fi
  echo "test.sh: promtool missing; the alert rules' tests will be SKIPPED" >&2
fi

set +e
$BIN/pytest -q -rfEs --durations=10 -p no:cacheprovider "$@"
status=$?
set -e
if [[ $status == 5 ]]; then
  echo "test.sh: pytest collected no tests" >&2
  exit 1
fi
exit $status
