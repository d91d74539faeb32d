#!/usr/bin/env bash
# Every figure of bench/README.md's "From outside" results, in one go (about
# 15 minutes on two cores once the accounts are seeded; the first run seeds
# 1,000,000 accounts on each engine, a few minutes each). Needs the local
# PostgreSQL of bench/harness.sh. Prints the tables' rows.
#
#   bench/all.sh [SECONDS]     # per scenario, default 30
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
export MILOGIN_TEST_POSTGRES=${MILOGIN_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
echo "== $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg) commit $(git rev-parse --short HEAD)"
for engine in sqlite postgres; do
  echo "== $engine, 1,000,000 accounts"
  bash bench/harness.sh "$engine" 1000000 "$secs" 2>&1 | grep -E '^\||idle RSS|bare'
done
for engine in sqlite postgres; do
  for n in 1000000 10000; do
    echo "== sign-in latency, $engine, $n accounts, 2 users"
    SCENARIOS="signin:2" bash bench/harness.sh "$engine" "$n" 20 2>&1 | grep -E '^\| signin'
  done
done
for nice in 0 10 19; do
  echo "== overload, --hash-nice $nice"
  SERVE_FLAGS="--hash-nice $nice" bash bench/overload.sh 10000 20 2>&1 | tail -3
done
echo "== three nodes against one"
bash bench/nodes.sh 1000000 20 2>&1 | tail -3
echo "== token exchange beside 1,000 and 1,000,000 live authorization requests"
go test -run '^$' -bench TokenExchangeRows -benchtime 1000x -count 2 ./internal/oidc 2>&1 | grep -E '^Benchmark|FAIL'
echo "== $(date -u +%FT%TZ)"
