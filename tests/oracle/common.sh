# Sourced by every oracle check (not a check itself: run.sh runs check_*.sh).
# Set ORACLE (the "name-oracle" of the result line) and SCRIPT (the prefix of
# messages) before sourcing. Every check ends with exactly one result line,
# "$ORACLE: N passed, N failed", or "$ORACLE: skipped (why)" where a tool it
# needs is not installed (exit 0: `make test` passes on a machine without it).
ALBERTC=${ALBERTC:-build/albertc}
PYTHON=${PYTHON:-/usr/bin/python3}
DATA=../shared/data/banking77
MODEL=../shared/models/albert-base-v2
SPIECE=$MODEL/spiece.model

# The check could not run (setup failed): one failure, with the reason.
fail_setup() {
    echo "$SCRIPT: $1"
    echo "$ORACLE: 0 passed, 1 failed"
    exit 1
}

# The check cannot run here because an optional tool is missing: WHY names it
# and how to install it.
skip() {
    echo "$ORACLE: skipped ($1)"
    exit 0
}

# need_python_modules MODULE...: skip unless $PYTHON imports every MODULE;
# the line names the missing ones and their Debian packages.
need_python_modules() {
    missing= packages=
    for m in "$@"; do
        "$PYTHON" -c "import $m" 2>/dev/null && continue
        missing="${missing:+$missing, }$m"
        case $m in
        google.protobuf) packages="$packages python3-protobuf" ;;
        *) packages="$packages python3-$m" ;;
        esac
    done
    [ -z "$missing" ] || skip "$PYTHON has no $missing: apt-get install$packages"
}

need_albertc() {
    [ -x "$ALBERTC" ] || fail_setup "$ALBERTC not built"
}

# Hugging Face's engine (npm tokenizers, tools/hf_tokenize.js): required, not skipped.
need_node_tokenizers() {
    command -v node >/dev/null 2>&1 || fail_setup "node not found (install nodejs)"
    [ -d tools/node_modules/tokenizers ] || fail_setup "tools/node_modules/tokenizers missing: run 'npm ci --prefix tools'"
}

# make_tmp: $tmp, a new directory, removed when the script ends, also on
# SIGINT/SIGTERM (which then end it: 130/143); KEEP=1 keeps it and says where.
make_tmp() {
    tmp=$(mktemp -d) || exit 2
    if [ -n "${KEEP:-}" ]; then
        echo "$SCRIPT: KEEP is set: keeping $tmp"
        return
    fi
    trap 'rm -rf "$tmp"' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}
