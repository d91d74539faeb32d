#!/usr/bin/env bash
# Runs the benchmarks and prints each figure as a ratio against the bare
# argon2id verification measured in the same run.
#   bench/run.sh [extra go test flags, e.g. -count=3]
set -euo pipefail
cd "$(dirname "$0")/.."
: "${MILOGIN_TEST_POSTGRES:=postgres://postgres@127.0.0.1:5432/test?sslmode=disable}"
export MILOGIN_TEST_POSTGRES
out=$(go test -run '^$' -bench . -benchtime 3s "$@" ./bench/ | tee /dev/stderr)
echo
echo "| benchmark | ns/op | ops/s | ratio to the bare hash of the same kind (ops/s) |"
echo "|---|---|---|---|"
echo "$out" | awk '
  /^Benchmark/ { name=$1; sub(/-[0-9]+$/, "", name); ns[name]=$3; order[n++]=name }
  END {
    for (i = 0; i < n; i++) {
      k = order[i]
      # Parallel figures are compared with the parallel hash, sequential with sequential.
      base = (k ~ /Parallel/) ? ns["BenchmarkHashParallel"] : ns["BenchmarkHash"]
      printf "| %s | %.0f | %.1f | %.2f |\n", k, ns[k], 1e9/ns[k], base/ns[k]
    }
  }'
