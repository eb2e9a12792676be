#!/bin/sh
# Oracle checks that compare albertc with outside engines (Hugging Face's
# tokenizers through npm, SentencePiece's spm_encode). Each script prints
# "name: N passed, N failed" and exits non-zero on a difference.
set -e
cd "$(dirname "$0")/../.."
status=0
for t in tests/oracle/check_*.sh; do
    [ -f "$t" ] || continue
    sh "$t" || status=1
done
exit $status
