#!/usr/bin/env bash
# Windows: cross-builds klarna_pos.dll with mingw-w64 and runs the C till against the simulator
# under wine, for each architecture this machine can build and run.
#
#   tests/packaging/windows.sh [x86_64] [i686]      (default: both)
#
# Needs: rustup targets x86_64-pc-windows-gnu / i686-pc-windows-gnu; Debian packages
# gcc-mingw-w64-x86-64, gcc-mingw-w64-i686 and wine (wine64; wine32:i386 for i686 programs).
# An architecture whose toolchain is missing is skipped; without its wine loader it is built and
# checked but not run.
#
# Output in target/windows/<arch>/: klarna_pos.dll, libklarna_pos.dll.a (import library for
# mingw), till.exe, the test-only bcryptprimitives.dll shim (wine 8 lacks that DLL, from which
# Rust's standard library takes its random numbers; Windows 10 and later have it), till.out.
#
# Every export is `extern "C"`: cdecl on 32-bit Windows, undecorated names (kpos_version, not
# _kpos_version@0); .NET callers declare CallingConvention.Cdecl.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
ARCHES=("$@")
[ ${#ARCHES[@]} -gt 0 ] || ARCHES=(x86_64 i686)
SHIM=tests/packaging/windows

SIM_PID=
cleanup() { [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null; }
trap cleanup EXIT
start_sim() {
    cargo build --quiet -p klarna-pos-sim || return 1
    "$TARGET_DIR/debug/klarna-pos-sim" --listen 127.0.0.1:0 --customer auto --auto-delay-ms 500 \
        > "$TARGET_DIR/windows/sim.out" 2>/dev/null &
    SIM_PID=$!
    for _ in $(seq 100); do
        grep -q '^listening on ' "$TARGET_DIR/windows/sim.out" 2>/dev/null && break
        sleep 0.05
    done
    SIM_URL=$(sed -n 's/^listening on //p' "$TARGET_DIR/windows/sim.out")
}

results=()
status=0
mkdir -p "$TARGET_DIR/windows"
for arch in "${ARCHES[@]}"; do
    target=$arch-pc-windows-gnu
    cc=$arch-w64-mingw32-gcc
    out=$TARGET_DIR/windows/$arch
    # Debian's loaders: wine64 (package wine64) for 64-bit programs, wine (wine32:i386) for 32-bit.
    if [ "$arch" = x86_64 ]; then wine=/usr/lib/wine/wine64; else wine=/usr/lib/wine/wine; fi
    if ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
        results+=("$arch: skipped (rustup target add $target)"); continue
    fi
    if ! command -v "$cc" >/dev/null; then
        results+=("$arch: skipped (apt-get install gcc-mingw-w64-${arch/_/-})"); continue
    fi
    echo "=== $arch: building klarna_pos.dll" >&2
    if ! cargo build --release --quiet --lib -p klarna-pos --target "$target"; then
        results+=("$arch: FAILED to build"); status=1; continue
    fi
    mkdir -p "$out"
    rel=$TARGET_DIR/$target/release
    cp "$rel/klarna_pos.dll" "$rel/libklarna_pos.dll.a" "$out/"
    # The .def exports the undecorated name; on i686 it binds to the stdcall ProcessPrng@8.
    "$cc" -shared -O2 -Wl,--enable-stdcall-fixup -o "$out/bcryptprimitives.dll" \
        "$SHIM/bcryptprimitives.c" "$SHIM/bcryptprimitives.def" -ladvapi32 || { results+=("$arch: FAILED (shim)"); status=1; continue; }
    "$cc" -std=c99 -Wall -Wextra -Werror -O2 -static-libgcc -I include examples/c/till.c \
        -o "$out/till.exe" -L "$out" -lklarna_pos || { results+=("$arch: FAILED (till.exe)"); status=1; continue; }

    exports=$("$arch-w64-mingw32-objdump" -p "$out/klarna_pos.dll" \
        | awk '/\[Ordinal\/Name Pointer\] Table/ {on=1; next} on && NF == 0 {on=0} on {print $NF}')
    foreign=$(echo "$exports" | grep -v '^kpos_' || true)
    if [ -n "$foreign" ]; then
        results+=("$arch: FAILED: exports besides kpos_: $(echo "$foreign" | tr '\n' ' ')"); status=1; continue
    fi
    dlls=$("$arch-w64-mingw32-objdump" -p "$out/klarna_pos.dll" | sed -n 's/.*DLL Name: //p' | tr '\n' ' ')
    size=$(stat -c %s "$out/klarna_pos.dll")
    echo "# $arch: klarna_pos.dll $size bytes, $(echo "$exports" | wc -l) exports (all kpos_, undecorated), imports: $dlls" >&2

    if [ ! -x "$wine" ] || ! "$wine" --version >/dev/null 2>&1; then
        results+=("$arch: klarna_pos.dll and till.exe built ($size bytes, exports only kpos_, undecorated); not run: no $wine (Debian: dpkg --add-architecture i386, apt-get install wine32:i386)"); continue
    fi
    [ -n "$SIM_PID" ] || start_sim || { results+=("$arch: FAILED (simulator)"); status=1; continue; }
    export WINEPREFIX=$TARGET_DIR/windows/wineprefix-$arch WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
    [ "$arch" = i686 ] && export WINEARCH=win32 || export WINEARCH=win64
    echo "=== $arch: running till.exe under $("$wine" --version) against $SIM_URL" >&2
    (cd "$out" && KLARNA_API_URL=$SIM_URL KLARNA_USERNAME=test_user KLARNA_PASSWORD=test_password \
        timeout 300 "$wine" till.exe "$ROOT/examples/orders/se_coffee.json" --timeout-ms 60000 \
        > till.out 2> till.err)
    rc=$?
    tr -d '\r' < "$out/till.out" | sed 's/^/    /' >&2
    if [ $rc -eq 0 ] && grep -q '^status=COMPLETED' "$out/till.out"; then
        results+=("$arch: till.exe took a payment under wine (exit 0, status=COMPLETED); klarna_pos.dll $size bytes")
    else
        results+=("$arch: FAILED: till.exe exited $rc under wine (see $out/till.err)"); status=1
    fi
done
printf '%s\n' "${results[@]}"
exit $status
