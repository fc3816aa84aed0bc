#!/usr/bin/env bash
# The .NET binding's tests: compiles KlarnaPos.dll and the test program with mcs, then runs it on
# mono against the simulator (debug builds of the library and the simulator from this checkout).
# Ends with the test program's "N passed, M failed" line; exits non-zero on any failure.
#
#   bindings/dotnet/tests/run.sh [ASSEMBLY NATIVE_LIBRARY]
#
# With arguments, the tests run against that KlarnaPos.dll and native library instead (taken
# from an unpacked .nupkg by tests/packaging/check_dotnet.sh), copied side by side.
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
case "$target" in /*) ;; *) target=$root/$target ;; esac
out=$target/dotnet-tests

cd "$root"
cargo build --quiet -p klarna-pos-sim
if [ $# -ge 2 ]; then
    out=$target/dotnet-tests-package
    rm -rf "$out"
    mkdir -p "$out"
    cp "$1" "$2" "$out/"
else
    cargo build --quiet --lib -p klarna-pos
    bindings/dotnet/build.sh "$out" "$target/debug/libklarna_pos.so"
fi
mcs -langversion:7 -warnaserror+ -nologo -r:"$out/KlarnaPos.dll" -r:System.Core.dll \
    -out:"$out/KlarnaPosTests.exe" bindings/dotnet/tests/*.cs
mono "$out/KlarnaPosTests.exe" "$root" "$target/debug/klarna-pos-sim"
