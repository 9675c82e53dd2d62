#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# scripts/test-servers, run as scripts/test runs it: `start` prints exports for servers that answer,
# `stop` ends them by PID and removes the folder, and `run` passes the command's status through.
# Exit 77 (SKIP) when neither redis-server nor PostgreSQL is installed.
set -euo pipefail
script=$1
fail() { echo "FAIL: $*" >&2; exit 1; }
if ! command -v redis-server >/dev/null && [ ! -x /usr/lib/postgresql/15/bin/initdb ]; then
  echo "SKIP: neither redis-server nor PostgreSQL 15 is installed" >&2; exit 77
fi
# Not the servers of the surrounding run: this test starts and stops its own.
unset STAGEFLOW_TEST_SERVERS_DIR STAGEFLOW_REDIS_ADDRESS STAGEFLOW_POSTGRES_CONNINFO STAGEFLOW_REDIS_SERVER
eval "$("$script" start)"
dir=$STAGEFLOW_TEST_SERVERS_DIR
[ -d "$dir" ] || fail "start made no folder"
pids=()
if command -v redis-server >/dev/null; then
  [ -n "${STAGEFLOW_REDIS_ADDRESS:-}" ] || fail "redis-server is installed but STAGEFLOW_REDIS_ADDRESS is unset"
  [ "$(redis-cli -h "${STAGEFLOW_REDIS_ADDRESS%:*}" -p "${STAGEFLOW_REDIS_ADDRESS##*:}" ping)" = PONG ] ||
    fail "Redis at $STAGEFLOW_REDIS_ADDRESS does not answer PING"
  pids+=("$(cat "$dir/redis/redis.pid")")
fi
if [ -x /usr/lib/postgresql/15/bin/initdb ]; then
  [ -n "${STAGEFLOW_POSTGRES_CONNINFO:-}" ] || fail "PostgreSQL is installed but STAGEFLOW_POSTGRES_CONNINFO is unset"
  [ "$(psql "$STAGEFLOW_POSTGRES_CONNINFO" -Atc 'select 1+1')" = 2 ] ||
    fail "PostgreSQL at '$STAGEFLOW_POSTGRES_CONNINFO' does not answer a query"
  pids+=("$(head -n 1 "$dir/postgres/data/postmaster.pid")")
fi
"$script" stop
for pid in "${pids[@]}"; do
  ! kill -0 "$pid" 2>/dev/null || fail "server pid $pid still runs after stop"
done
[ ! -e "$dir" ] || fail "stop left $dir"
# run: the command sees the variables, its failure is the script's, and the servers stop anyway.
status=0
"$script" run bash -c '[ -n "$STAGEFLOW_TEST_SERVERS_DIR" ] && echo "$STAGEFLOW_TEST_SERVERS_DIR" >"$0" && exit 3' \
  "$dir.run" 2>/dev/null || status=$?
[ $status -eq 3 ] || fail "run returned $status, expected the command's 3"
run_dir=$(cat "$dir.run"); rm -f "$dir.run"
[ ! -e "$run_dir" ] || fail "run left $run_dir after its command failed"
echo "ok: started, answered, stopped by PID (${#pids[@]} servers)"
