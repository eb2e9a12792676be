#!/bin/sh
# Runs each libFuzzer target for $1 seconds from its seed corpus (fuzz/seeds/<name>/);
# fails when a target finds a crash, a leak or a timeout (the reproducer is left in fuzz/).
set -e
secs=$1; shift
status=0
for bin in "$@"; do
    name=$(basename "$bin")
    work=fuzz/corpus-$name
    mkdir -p "$work"
    seeds=fuzz/seeds/$name
    [ -d "$seeds" ] || seeds=
    echo "fuzz: $name for ${secs}s"
    log=$(mktemp)
    if "$bin" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 -print_final_stats=0 \
        -artifact_prefix=fuzz/ "$work" $seeds >"$log" 2>&1; then
        tail -n 1 "$log"
    else
        tail -n 40 "$log"
        echo "fuzz: $name FAILED"
        status=1
    fi
    rm -f "$log"
done
exit $status
