#!/usr/bin/env bash
# Drives a real `milogin serve` from outside with `milogin bench` and prints
# each figure next to the bare argon2id rate measured in the same run.
#
#   bench/harness.sh sqlite   [ACCOUNTS] [SECONDS]
#   bench/harness.sh postgres [ACCOUNTS] [SECONDS]
#
# ACCOUNTS (default 10000) seeded accounts in a data folder kept under
# ${BENCH_DIR:-/tmp/milogin-bench}/ENGINE-ACCOUNTS (seeded once, reused);
# SECONDS (default 15) per scenario. PostgreSQL uses $MILOGIN_BENCH_POSTGRES
# (default: the local test server, schema bench_ACCOUNTS). The server listens
# on ${BENCH_ADDR:-127.0.0.1:18170}. Results go to the data folder as JSON.
set -euo pipefail
cd "$(dirname "$0")/.."
engine=${1:?usage: bench/harness.sh sqlite|postgres [ACCOUNTS] [SECONDS]}
accounts=${2:-10000}
secs=${3:-15}
addr=${BENCH_ADDR:-127.0.0.1:18170}
dir=${BENCH_DIR:-/tmp/milogin-bench}/$engine-$accounts
mkdir -p "$dir"
bin=$dir/milogin
go build -o "$bin" ./cmd/milogin

db=()
if [ "$engine" = postgres ]; then
  pg=${MILOGIN_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
  schema=bench_$accounts
  psql "$pg" -qc "CREATE SCHEMA IF NOT EXISTS $schema" >/dev/null
  db=(--db "$pg&search_path=$schema")
fi

if [ ! -e "$dir/seeded" ]; then
  "$bin" users seed --data "$dir" "${db[@]}" --portal thirdparty --count "$accounts"
  touch "$dir/seeded"
fi
if [ ! -e "$dir/app.json" ]; then
  "$bin" apps add --data "$dir" "${db[@]}" --portal thirdparty --id bench --name Bench \
    --redirect-uri https://bench.example/callback --json > "$dir/app.json"
fi
if [ ! -e "$dir/app-es256.json" ]; then
  # The same application signing its ID tokens with ES256 (scenario flow-es256).
  "$bin" apps add --data "$dir" "${db[@]}" --portal thirdparty --id bench-es256 --name "Bench ES256" \
    --redirect-uri https://bench.example/callback --id-token-alg ES256 --json > "$dir/app-es256.json"
fi
secret=$(sed -n 's/.*"client_secret":"\([^"]*\)".*/\1/p' "$dir/app.json")
secret_es=$(sed -n 's/.*"client_secret":"\([^"]*\)".*/\1/p' "$dir/app-es256.json")

if curl -fs "http://$addr/healthz" >/dev/null 2>&1; then echo "something already listens on $addr" >&2; exit 1; fi
"$bin" serve --data "$dir" "${db[@]}" --addr "$addr" --base-url "http://$addr" --metrics-addr "" --allow-seeded ${SERVE_FLAGS:-} >/dev/null 2>"$dir/serve.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT
for _ in $(seq 100); do curl -fs "http://$addr/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
kill -0 $pid 2>/dev/null || { cat "$dir/serve.log" >&2; exit 1; }
sleep 1
rss_idle=$(awk '/VmRSS/ {printf "%.1f", $2/1024}' /proc/$pid/status)
echo "server pid $pid, idle RSS $rss_idle MB"

run() { # scenario concurrency
  local scenario=$1 client=bench sec=$secret users=$(( accounts < 10000 ? accounts : 10000 ))
  if [ "$1" = flow-es256 ]; then scenario=flow client=bench-es256 sec=$secret_es; fi
  # Each run signs in with accounts the runs before have not used, while
  # there are enough of them: an account with a live session from an
  # earlier run would add the "another active session" step to its flow.
  local first=$(cat "$dir/next-user" 2>/dev/null || echo 0)
  if [ $(( first + users )) -gt "$accounts" ]; then first=0; fi
  echo $(( first + users )) > "$dir/next-user"
  "$bin" bench --target "http://$addr" --scenario "$scenario" --concurrency "$2" --duration "${secs}s" \
    --users "$users" --first-user "$first" --client-id "$client" --client-secret "$sec" \
    --redirect-uri https://bench.example/callback --pid "$pid" --hash-baseline 5s --json > "$dir/$1.json" || true
  python3 - "$dir/$1.json" "$1" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
b = r.get("hash_baseline", {})
hashed = sys.argv[2] in ("flow", "flow-es256", "signin")
print("| %s | %s | %.1f | %.3f | %.1f | %.2f / %.2f / %.2f | %d / %d | %.3f | %s | %s | %.3f | %.1f |" % (
  sys.argv[2], sys.argv[3], r["per_second"], r.get("ratio_to_hash", 0), b.get("per_second", 0),
  r["p50_ns"]/1e6, r["p99_ns"]/1e6, r["max_ns"]/1e6, r["errors"], r["busy"],
  r.get("server_cpu_per_op_ms", 0), "%.2f" % r.get("server_hash_cpu_per_op_ms", 0) if hashed else "-",
  "%.2f" % r.get("protocol_cpu_ms_per_op", 0) if hashed else "-",
  r.get("client_cpu_per_op_ms", 0), r.get("server_rss_peak_mb", 0)))
PY
}
echo "| scenario | VUs | ops/s | ratio to bare hash | bare hash/s | p50 / p99 / max ms | errors / busy | server CPU ms/op | of which hashing | besides hashing | client CPU ms/op | peak RSS MB |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for s in ${SCENARIOS:-flow:64 flow-es256:64 signin:64 session:16 userinfo:16 client-credentials:16 jwks:16}; do
  run "${s%%:*}" "${s##*:}"
done
