#!/usr/bin/env bash
# Sign-in throughput of three nodes on one PostgreSQL against one node, each
# node pinned with taskset to a core of its own where there is one (node i
# on core i mod the number of cores), the bench client spreading its users
# over the nodes (--target A,B,C).
#
#   bench/nodes.sh [ACCOUNTS] [SECONDS]
#
# Uses the data folder and schema bench/harness.sh postgres ACCOUNTS made
# (run that first). Nodes listen on 127.0.0.1:18181-18183.
set -euo pipefail
cd "$(dirname "$0")/.."
accounts=${1:-1000000}
secs=${2:-20}
dir=${BENCH_DIR:-/tmp/milogin-bench}/postgres-$accounts
bin=$dir/milogin
pg=${MILOGIN_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
db="$pg&search_path=bench_$accounts"
cores=$(nproc)
[ -x "$bin" ] || { echo "run bench/harness.sh postgres $accounts first" >&2; exit 1; }
pids=()
trap 'for p in "${pids[@]}"; do kill $p 2>/dev/null; done; wait 2>/dev/null' EXIT

start() { # count
  targets=""
  for i in $(seq 0 $(($1 - 1))); do
    addr=127.0.0.1:$((18181 + i))
    taskset -c $((i % cores)) "$bin" serve --data "$dir" --db "$db" --addr "$addr" --metrics-addr "" --allow-seeded \
      >/dev/null 2>"$dir/node$i.log" &
    pids+=($!)
    targets="${targets:+$targets,}http://$addr"
  done
  for t in ${targets//,/ }; do
    for _ in $(seq 100); do curl -fs "$t/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  done
}
stop() { for p in "${pids[@]}"; do kill $p 2>/dev/null; done; wait 2>/dev/null || true; pids=(); }

result() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("%.1f/s, p50 %.0f ms, p99 %.0f ms, %d errors, %d busy" % (r["per_second"], r["p50_ns"]/1e6, r["p99_ns"]/1e6, r["errors"], r["busy"]))' "$1"; }

start 1
"$bin" bench --target "$targets" --scenario signin --concurrency 32 --duration "${secs}s" --users 10000 --json > "$dir/nodes1.json" || true
stop
start 3
"$bin" bench --target "$targets" --scenario signin --concurrency 32 --duration "${secs}s" --users 10000 --json > "$dir/nodes3.json" || true
stop
echo "cores: $cores"
echo "one node (core 0):          $(result "$dir/nodes1.json")"
echo "three nodes (cores i mod $cores): $(result "$dir/nodes3.json")"
python3 -c 'import json,sys; a=json.load(open(sys.argv[1]))["per_second"]; b=json.load(open(sys.argv[2]))["per_second"]; print("three / one: %.2f" % (b/a if a else 0))' "$dir/nodes1.json" "$dir/nodes3.json"
