# Sourced by the oracle checks that run albertc on Banking77 (not a check itself:
# run.sh runs check_*.sh). Set ORACLE (the "name-oracle" of the result line)
# and SCRIPT (the prefix of messages) before sourcing.
ALBERTC=${ALBERTC:-build/albertc}
PYTHON=${PYTHON:-/usr/bin/python3}
DATA=../shared/data/banking77
SPIECE=../shared/models/albert-base-v2/spiece.model

# The check could not run (setup failed): one failure, with the reason.
fail_setup() {
    echo "$SCRIPT: $1"
    echo "$ORACLE: 0 passed, 1 failed"
    exit 1
}
