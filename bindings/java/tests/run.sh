#!/usr/bin/env bash
# The Java binding's tests: compiles the binding (bindings/java/build.sh) and the test program
# with javac against JNA, then runs it against the simulator (debug builds of the library and the
# simulator from this checkout; the library named by KLARNA_POS_LIBRARY, as the binding reads
# it). Ends with the test program's "N passed, M failed" line; exits non-zero on any failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
case "$target" in /*) ;; *) target=$root/$target ;; esac
out=$target/java-tests
jna=${JNA_JAR:-/usr/share/java/jna.jar}

cd "$root"
cargo build --quiet --lib -p klarna-pos
cargo build --quiet -p klarna-pos-sim
bindings/java/build.sh "$out"
rm -rf "$out/tests"
mkdir -p "$out/tests"
javac -Xlint:all -Werror -encoding UTF-8 -cp "$jna:$out/klarna-pos.jar" -d "$out/tests" \
    bindings/java/tests/klarnapos/*.java
env -u KLARNA_API_URL -u KLARNA_USERNAME -u KLARNA_PASSWORD -u KLARNA_POS_CONFIG \
    KLARNA_POS_LIBRARY="$target/debug/libklarna_pos.so" \
    java -cp "$jna:$out/klarna-pos.jar:$out/tests" klarnapos.KlarnaPosTests "$root" "$target/debug/klarna-pos-sim"
