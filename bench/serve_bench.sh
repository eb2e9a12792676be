#!/bin/sh
# albertc serve's speed (issue 10): wrk (Debian's, with bench/serve_bench.lua)
# posts one short Banking77 test text per request to /predict at concurrency 1,
# 8 and 64 against a random base-geometry classifier; prints requests/s, p50 and
# p99 latency, the encoder's own sorted-batch throughput (albertc bench) to
# compare with, what the server adds around the encoder at concurrency 1
# (bench/serve_overhead.py), the server's peak RSS, and its RSS with 1,000
# idle connections.
#
#   DTYPE=float32|bfloat16   (default float32)
#   SECONDS_EACH=N           wrk duration per concurrency (default 20)
#   LIMIT=N                  test texts used (default 400)
#   OVERHEAD_REQUESTS=N      requests per route of the concurrency-1 breakdown (default 200)
# See bench/README.md.
set -eu
cd "$(dirname "$0")/.."
BENCH=serve-bench LIMIT=${LIMIT:-400}
SECONDS_EACH=${SECONDS_EACH:-20}
. bench/common.sh
server=
bench_cleanup() { [ -z "$server" ] || kill "$server" 2>/dev/null; }

. bench/base_classifier.sh
"$PYTHON" -c '
import json, sys
for l in open(sys.argv[1]):
    print(json.dumps({"inputs": json.loads(l)["text"]}))' "$work/test.jsonl" > "$work/bodies.jsonl"
encoder_alone

"$ALBERTC" serve --model "$work/run/model" --port 0 2> "$work/serve.log" &
server=$!
port=
for _ in $(seq 600); do
    port=$(sed -n 's|^listening on http://127.0.0.1:\([0-9]*\)$|\1|p' "$work/serve.log")
    [ -n "$port" ] && break
    sleep 0.1
done
[ -n "$port" ] || { cat "$work/serve.log"; exit 1; }
rss() { awk -v k="$1" '$1 == k":" { printf "%.1f MB", $2 / 1024 }' "/proc/$server/status"; }
echo "server ready, RSS $(rss VmRSS)"

for c in 1 8 64; do
    out=$(wrk -t 1 -c "$c" -d "${SECONDS_EACH}s" --timeout 10s -s bench/serve_bench.lua \
        "http://127.0.0.1:$port" -- "$work/bodies.jsonl" | grep '^RESULT')
    echo "$out" | awk -v c="$c" '{
        for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        printf "concurrency %2d: %7.1f requests/s, p50 %7.2f ms, p99 %7.2f ms, %d failed\n",
               c, v["requests"] / v["seconds"], v["p50_ms"], v["p99_ms"], v["failed"] }'
done
"$PYTHON" bench/serve_overhead.py "$port" "$work/bodies.jsonl" "${OVERHEAD_REQUESTS:-200}"
echo "server peak RSS after the runs: $(rss VmHWM)"

# 1,000 idle connections held open for 3 s
"$PYTHON" -c '
import socket, sys, time
conns = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(1000)]
time.sleep(3)
print(len(conns), "idle connections open")' "$port" &
holder=$!
sleep 2
echo "with 1000 idle connections: RSS $(rss VmRSS)"
wait "$holder"
kill -TERM "$server"
wait "$server" && echo "SIGTERM: exit 0"
server=
