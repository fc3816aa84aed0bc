#!/usr/bin/env bash
# The size of the release library against its limit (docs/performance.md#size): builds the
# release .so (a few minutes from scratch: LTO, one codegen unit), strips it and fails when the
# stripped library is larger than KPOS_SIZE_LIMIT bytes (default 3000000, the 3 MB of the
# performance goals). Run by tests/run and by tests/bench/run.sh. Prints one line:
#   size so_bytes=<as built> stripped_bytes=<stripped> limit=<limit> exports=<n> non_kpos_exports=<n>
set -euo pipefail
cd "$(dirname "$0")/../.."
LIMIT=${KPOS_SIZE_LIMIT:-3000000}
TARGET=${CARGO_TARGET_DIR:-$(pwd)/target}
cargo rustc --release --quiet -p klarna-pos --lib --crate-type cdylib,staticlib
SO=$TARGET/release/libklarna_pos.so
mkdir -p "$TARGET/bench"
STRIPPED=$TARGET/bench/libklarna_pos.stripped.so
strip -o "$STRIPPED" "$SO"
bytes=$(stat -c %s "$STRIPPED")
exports() { nm -D --defined-only "$SO" | awk '$2 ~ /[TDBR]/' | awk "$1" | wc -l; }
echo "size so_bytes=$(stat -c %s "$SO") stripped_bytes=$bytes limit=$LIMIT" \
    "exports=$(exports '1') non_kpos_exports=$(exports '$3 !~ /^kpos_/')"
if [ "$bytes" -gt "$LIMIT" ]; then
    echo "the stripped release library is $bytes bytes, over the limit of $LIMIT bytes" \
        "(docs/performance.md#size says where the bytes go and what keeps them down)" >&2
    exit 1
fi
