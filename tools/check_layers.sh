#!/bin/sh
# Fails when a file in src/ includes a header from a higher layer
# (README.md, Layout: a file includes only from its own layer or below).
# Layers, lowest first; a directory of src/ that is not listed is an error too,
# so a new layer has to be placed here before it is used.
LAYERS="util io tokenizer model data pipeline train report serve cli"
cd "$(dirname "$0")/.." || exit 2
rank() {
    r=0
    for l in $LAYERS; do
        [ "$l" = "$1" ] && { echo $r; return; }
        r=$((r + 1))
    done
    echo -1
}
status=0
for dir in src/*/; do
    layer=$(basename "$dir")
    own=$(rank "$layer")
    if [ "$own" -lt 0 ]; then
        echo "check_layers: src/$layer/ is not a known layer (add it to LAYERS in $0)"
        status=1
        continue
    fi
    for f in "$dir"*.c "$dir"*.h; do
        [ -f "$f" ] || continue
        for inc in $(sed -n 's|^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([a-z_]*\)/[^"]*".*|\1|p' "$f" | sort -u); do
            r=$(rank "$inc")
            if [ "$r" -lt 0 ] || [ "$r" -gt "$own" ]; then
                echo "check_layers: $f ($layer) includes from $inc/: $(grep -n "#[[:space:]]*include[[:space:]]*\"$inc/" "$f" | head -1)"
                status=1
            fi
        done
    done
done
[ $status -eq 0 ] && echo "check_layers: every #include in src/ goes to its own layer or below ($LAYERS)"
exit $status
