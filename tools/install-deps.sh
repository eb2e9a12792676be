#!/bin/sh
# Installs what albert.c needs on Debian 12: the build's libraries (Debian
# packages) and the test oracle for token ids (npm `tokenizers`, into tools/).
# Runs apt-get through sudo when not root. Safe to run again.
set -e
cd "$(dirname "$0")/.."
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
    build-essential pkg-config clang libclang-rt-14-dev \
    libopenblas-dev libdnnl-dev libsleef-dev libjansson-dev libyaml-dev libutf8proc-dev libxxhash-dev libcriterion-dev \
    libmicrohttpd-dev libcurl4-openssl-dev wrk libopenmpi-dev openmpi-bin \
    python3 python3-sentencepiece sentencepiece python3-protobuf >/dev/null
# Node.js comes with the machine image here; Debian's own is the fallback.
command -v npm >/dev/null 2>&1 || $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
# Hugging Face's tokenizers engine (Rust, Node bindings), pinned by tools/package-lock.json.
npm ci --prefix tools --no-audit --no-fund --loglevel=error
