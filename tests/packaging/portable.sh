#!/usr/bin/env bash
# The portable Linux build for old till distributions: libklarna_pos.so linked with zig against
# glibc 2.17 (CentOS 7, Debian 8, Ubuntu 14.04 and newer), then checked with objdump -T: no
# imported glibc symbol may carry a version newer than 2.17.
#
#   tests/packaging/portable.sh        (GLIBC=2.17 by default)
#
# Needs cargo-zigbuild and zig: python3 -m pip install cargo-zigbuild ziglang
# Output: target/x86_64-unknown-linux-gnu/release/libklarna_pos.so (a separate release build,
# several minutes on 2 cores), and a C till linked against it that takes a payment here.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
GLIBC=${GLIBC:-2.17}
TARGET=x86_64-unknown-linux-gnu
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

if ! command -v cargo-zigbuild >/dev/null || ! { command -v zig >/dev/null || python3 -m ziglang version >/dev/null 2>&1; }; then
    echo "cargo-zigbuild or zig is missing; get them with: python3 -m pip install cargo-zigbuild ziglang" >&2
    exit 2
fi
cargo-zigbuild rustc --release --quiet --lib -p klarna-pos --target "$TARGET.$GLIBC" --crate-type cdylib,staticlib
SO=$TARGET_DIR/$TARGET/release/libklarna_pos.so

versions=$(objdump -T "$SO" | grep -o 'GLIBC_[0-9.]*' | sort -uV)
highest=$(echo "$versions" | tail -1)
echo "glibc symbol versions used: $(echo "$versions" | tr '\n' ' ')"
echo "highest: $highest (ceiling $GLIBC)"
newest=$(printf '%s\n%s\n' "${highest#GLIBC_}" "$GLIBC" | sort -V | tail -1)
if [ "$newest" != "$GLIBC" ]; then
    echo "FAIL: $SO needs $highest, newer than $GLIBC" >&2
    objdump -T "$SO" | grep "$highest" >&2
    exit 1
fi
foreign=$(nm -D --defined-only "$SO" | awk '{print $NF}' | grep -v '^kpos_' || true)
[ -z "$foreign" ] || { echo "FAIL: exports besides kpos_: $foreign" >&2; exit 1; }
echo "stripped size: $(strip -o "$SO.stripped" "$SO" && stat -c %s "$SO.stripped") bytes; exports only kpos_"

# The portable build works here too: the C till takes a payment with it.
cargo build --quiet -p klarna-pos-sim
OUT=$TARGET_DIR/portable
mkdir -p "$OUT"
gcc -std=c99 -Wall -Wextra -Werror -O2 -I include examples/c/till.c -o "$OUT/till" \
    -L "$(dirname "$SO")" -lklarna_pos -Wl,-rpath,"$(dirname "$SO")"
"$TARGET_DIR/debug/klarna-pos-sim" --listen 127.0.0.1:0 --customer auto --auto-delay-ms 300 > "$OUT/sim.out" 2>/dev/null &
SIM_PID=$!
trap 'kill $SIM_PID 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q '^listening on ' "$OUT/sim.out" 2>/dev/null && break; sleep 0.05; done
KLARNA_API_URL=$(sed -n 's/^listening on //p' "$OUT/sim.out") KLARNA_USERNAME=test_user KLARNA_PASSWORD=test_password \
    "$OUT/till" examples/orders/se_coffee.json --timeout-ms 20000 > "$OUT/till.out"
grep -q '^status=COMPLETED' "$OUT/till.out"
echo "the C till took a payment with the portable build (status=COMPLETED)"
echo "portable build passed: $SO needs glibc <= $GLIBC"
