#!/usr/bin/env bash
# The test command behind `make test` (and so behind .ci/run).
#
# 1. Starts real PostgreSQL, Kafka and Keycloak with deploy/infra.sh unless their addresses
#    are already given (GONGKAI_TEST_DATABASE_URL, GONGKAI_TEST_KAFKA_BOOTSTRAP,
#    GONGKAI_TEST_KEYCLOAK_URL); with the first two given and no Keycloak, starts only
#    Keycloak (deploy/keycloak.sh).
# 2. Runs the whole pytest suite. With CI=true a test that needs missing
#    infrastructure FAILS (tests/conftest.py); locally it is skipped, and the
#    skip list with reasons is printed at the end.
# 3. Stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
started=0
keycloak_started=0
in_ci=0
case "${CI:-}" in 1|true|TRUE|yes) in_ci=1 ;; esac

if [[ -z "${GONGKAI_TEST_DATABASE_URL:-}" || -z "${GONGKAI_TEST_KAFKA_BOOTSTRAP:-}" ]]; then
  # Test data is disposable: no fsync (GONGKAI_PG_FAST) makes the suite faster.
  # All three servers start in parallel; the env file names those that did start.
  if [[ -n "${GONGKAI_TEST_KEYCLOAK_URL:-}" ]]; then export GONGKAI_INFRA_KEYCLOAK=0; fi
  infra_ok=1
  GONGKAI_PG_FAST=1 bash deploy/infra.sh up || infra_ok=0
  started=1
  if [[ -f "${GONGKAI_INFRA_DIR:-var/infra}/env" ]]; then
    # shellcheck disable=SC1091
    source "${GONGKAI_INFRA_DIR:-var/infra}/env"
  fi
  if [[ $infra_ok == 0 && $in_ci == 1 ]]; then
    echo "test.sh: CI=true and deploy/infra.sh could not start PostgreSQL, Kafka and Keycloak" >&2
    bash deploy/infra.sh down || true
    exit 1
  elif [[ $infra_ok == 0 ]]; then
    echo "test.sh: deploy/infra.sh could not start everything; tests needing what is missing will be SKIPPED (see below)" >&2
  fi
elif [[ -z "${GONGKAI_TEST_KEYCLOAK_URL:-}" ]]; then
  if bash deploy/keycloak.sh start; then
    keycloak_started=1
    export GONGKAI_TEST_KEYCLOAK_URL=http://127.0.0.1:${GONGKAI_KEYCLOAK_PORT:-18080}
  elif [[ $in_ci == 1 ]]; then
    echo "test.sh: CI=true and deploy/keycloak.sh could not start Keycloak" >&2
    exit 1
  else
    echo "test.sh: could not start Keycloak; the OpenID Connect tests will be SKIPPED" >&2
  fi
fi
cleanup() {
  if [[ $started == 1 ]]; then bash deploy/infra.sh down || true; fi
  if [[ $keycloak_started == 1 ]]; then bash deploy/keycloak.sh stop || true; fi
}
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
$BIN/pytest -q -rfEs --durations=25 -p no:cacheprovider "$@"
status=$?
set -e
if [[ $status == 5 ]]; then
  echo "test.sh: pytest collected no tests" >&2
  exit 1
fi
exit $status
