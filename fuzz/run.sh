#!/bin/sh
# Runs each libFuzzer target for $1 seconds from its seed corpus (fuzz/seeds/<name>/).
set -e
secs=$1; shift
for bin in "$@"; do
    name=$(basename "$bin")
    work=fuzz/corpus-$name
    mkdir -p "$work"
    seeds=fuzz/seeds/$name
    [ -d "$seeds" ] || seeds=
    echo "fuzz: $name for ${secs}s"
    "$bin" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 -print_final_stats=0 "$work" $seeds 2>&1 | tail -n 3
done
