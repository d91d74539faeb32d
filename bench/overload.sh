#!/usr/bin/env bash
# Overload: sign-ins at four times what a node takes (hash slots plus its
# queue, here --hash-queue 8 on top of one slot per core) while signed-in
# users keep loading pages. Expected: no errors, the excess sign-ins shed
# as 503 with Retry-After ("busy"), and the signed-in pages' p99 about what
# it is without the overload.
#
#   bench/overload.sh [ACCOUNTS] [SECONDS]
#
# HASH_SLOTS sets --hash-slots (default: one per core); SERVE_FLAGS adds flags
# to serve (e.g. --hash-nice 0 to compare with hashing at normal priority).
# Uses the SQLite data folder of bench/harness.sh sqlite ACCOUNTS (run that
# first). The server listens on 127.0.0.1:18175.
set -euo pipefail
cd "$(dirname "$0")/.."
accounts=${1:-10000}
secs=${2:-20}
dir=${BENCH_DIR:-/tmp/milogin-bench}/sqlite-$accounts
bin=$dir/milogin
addr=127.0.0.1:18175
queue=8
slots=${HASH_SLOTS:-$(nproc)}
[ -x "$bin" ] || { echo "run bench/harness.sh sqlite $accounts first" >&2; exit 1; }
"$bin" serve --data "$dir" --addr "$addr" --metrics-addr "" --allow-seeded --hash-queue $queue --hash-slots $slots ${SERVE_FLAGS:-} >/dev/null 2>"$dir/overload.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT
for _ in $(seq 100); do curl -fs "http://$addr/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
capacity=$(( slots + queue ))
b() { "$bin" bench --target "http://$addr" --duration "${secs}s" --json "$@"; }
# Signed-in pages alone; then the same while sign-ins at 4x capacity (other
# accounts) flood the node, started once the page users have signed in.
b --scenario session --concurrency 8 --users 8 > "$dir/overload-session-alone.json" || true
b --scenario session --concurrency 8 --users 8 > "$dir/overload-session-loaded.json" &
sp=$!
sleep 1
b --scenario signin --concurrency $((4 * capacity)) --users 1000 --first-user 100 > "$dir/overload-signin.json" || true
wait $sp || true
python3 - "$dir" $capacity <<'PY'
import json, sys
d, cap = sys.argv[1], int(sys.argv[2])
a = json.load(open(d + "/overload-session-alone.json"))
s = json.load(open(d + "/overload-signin.json"))
l = json.load(open(d + "/overload-session-loaded.json"))
print("capacity %d concurrent sign-ins (hash slots + queue); offered %d" % (cap, 4 * cap))
print("sign-ins: %d ok, %d busy (503 + Retry-After), %d errors %s" % (s["ok"], s["busy"], s["errors"], s.get("error_kinds", {})))
print("session page alone:        %.0f/s, p50 %.2f ms, p99 %.2f ms, %d errors" % (a["per_second"], a["p50_ns"]/1e6, a["p99_ns"]/1e6, a["errors"]))
print("session page under 4x load: %.0f/s, p50 %.2f ms, p99 %.2f ms, %d errors" % (l["per_second"], l["p50_ns"]/1e6, l["p99_ns"]/1e6, l["errors"]))
PY
