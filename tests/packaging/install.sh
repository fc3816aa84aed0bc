#!/usr/bin/env bash
# Installs the library with cargo-c into a scratch prefix and builds the C till against the
# installed copy, as a till developer would:
#
#   tests/packaging/install.sh [--debug] [PREFIX]     (default PREFIX: target/install-check/prefix)
#
# Checks: the files cargo-c installs (shared library with SONAME libklarna_pos.so.<major> and
# its links, static library, header(s), klarna_pos.pc), that the .so exports only kpos_ symbols,
# and that `gcc till.c $(pkg-config --cflags --libs klarna_pos)` builds a till that needs
# libklarna_pos.so.<major> and takes a payment from the simulator; the same till linked with
# the static library does too; the CMake package (share/cmake/klarna_pos/) finds the installed
# library for a CMake till that pays (tests/packaging/check_c.sh). --debug installs a debug build (quicker; tests/run uses it).
# Needs cargo-c: cargo install --locked cargo-c --version 0.10.24
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
PROFILE_ARGS=(--release)
WORK=${CARGO_TARGET_DIR:-$ROOT/target}/install-check
if [ "${1:-}" = "--debug" ]; then
    PROFILE_ARGS=(--debug)
    WORK=$WORK-debug
    shift
fi
PREFIX=${1:-$WORK/prefix}
MAJOR=$(sed -n 's/^version = "\([0-9]*\)\..*/\1/p' Cargo.toml | head -1)

if ! cargo cinstall --version >/dev/null 2>&1; then
    echo "cargo-c is not installed; get it with: cargo install --locked cargo-c --version 0.10.24" >&2
    exit 2
fi

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok - $*"; }

rm -rf "$PREFIX" "$WORK/bin"
mkdir -p "$WORK/bin"
cargo cinstall "${PROFILE_ARGS[@]}" -p klarna-pos --prefix "$PREFIX" --libdir lib >&2

LIB=$PREFIX/lib
echo "# installed:"; (cd "$PREFIX" && find . -type f -o -type l | sort | sed 's/^/#   /')
[ -L "$LIB/libklarna_pos.so" ] && [ -e "$LIB/libklarna_pos.so.$MAJOR" ] || fail "libklarna_pos.so and .so.$MAJOR"
ok "libklarna_pos.so -> $(readlink "$LIB/libklarna_pos.so"), libklarna_pos.so.$MAJOR -> $(readlink "$LIB/libklarna_pos.so.$MAJOR")"
soname=$(readelf -d "$LIB/libklarna_pos.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libklarna_pos.so.$MAJOR" ] || fail "SONAME is '$soname', not libklarna_pos.so.$MAJOR"
ok "SONAME $soname"
[ -f "$LIB/libklarna_pos.a" ] || fail "static library"
ok "static library libklarna_pos.a"
[ -f "$PREFIX/include/klarna_pos.h" ] || fail "header"
cmp -s "$PREFIX/include/klarna_pos.h" include/klarna_pos.h || fail "installed header differs from include/klarna_pos.h"
ok "header include/klarna_pos.h (the committed one)"
if [ -f include/klarna_pos.hpp ]; then
    cmp -s "$PREFIX/include/klarna_pos.hpp" include/klarna_pos.hpp || fail "C++ header not installed"
    ok "C++ header include/klarna_pos.hpp"
fi
[ -f "$LIB/pkgconfig/klarna_pos.pc" ] || fail "pkg-config file"
ok "pkg-config file lib/pkgconfig/klarna_pos.pc"
for f in klarna_posConfig.cmake klarna_posConfigVersion.cmake; do
    cmp -s "$PREFIX/share/cmake/klarna_pos/$f" "packaging/cmake/$f" || fail "share/cmake/klarna_pos/$f not installed"
done
ok "CMake package share/cmake/klarna_pos/klarna_posConfig.cmake and its version file"
foreign=$(nm -D --defined-only "$LIB/libklarna_pos.so" | awk '{print $NF}' | grep -v '^kpos_' || true)
[ -z "$foreign" ] || fail "exports besides kpos_*: $foreign"
ok "only kpos_ symbols exported ($(nm -D --defined-only "$LIB/libklarna_pos.so" | wc -l))"

export PKG_CONFIG_PATH=$LIB/pkgconfig
# shellcheck disable=SC2046
gcc -std=c99 -Wall -Wextra -Werror -O2 examples/c/till.c -o "$WORK/bin/till" \
    $(pkg-config --cflags --libs klarna_pos)
readelf -d "$WORK/bin/till" | grep -q "NEEDED.*\[libklarna_pos.so.$MAJOR\]" || fail "till does not need libklarna_pos.so.$MAJOR"
ok "gcc till.c \$(pkg-config --cflags --libs klarna_pos): needs libklarna_pos.so.$MAJOR"
# The static library with the system libraries pkg-config lists for it.
# shellcheck disable=SC2046
gcc -std=c99 -Wall -Wextra -Werror -O2 examples/c/till.c -o "$WORK/bin/till-static" \
    $(pkg-config --cflags klarna_pos) "$LIB/libklarna_pos.a" \
    $(pkg-config --static --libs klarna_pos | sed 's/-lklarna_pos//; s/-L[^ ]*//g')
! readelf -d "$WORK/bin/till-static" | grep -q "libklarna_pos" || fail "till-static needs the shared library"
ok "till linked with libklarna_pos.a"

# Both tills take a payment from the simulator's automatic customer.
cargo build --quiet -p klarna-pos-sim
SIM=${CARGO_TARGET_DIR:-$ROOT/target}/debug/klarna-pos-sim
"$SIM" --listen 127.0.0.1:0 --customer auto --auto-delay-ms 300 > "$WORK/sim.out" 2>/dev/null &
SIM_PID=$!
trap 'kill $SIM_PID 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q '^listening on ' "$WORK/sim.out" 2>/dev/null && break; sleep 0.05; done
export KLARNA_API_URL=$(sed -n 's/^listening on //p' "$WORK/sim.out") KLARNA_USERNAME=test_user KLARNA_PASSWORD=test_password
for till in till till-static; do
    LD_LIBRARY_PATH=$LIB "$WORK/bin/$till" examples/orders/se_coffee.json --timeout-ms 20000 > "$WORK/$till.out" \
        || fail "$till exited $? ($(tr '\n' ' ' < "$WORK/$till.out"))"
    grep -q '^status=COMPLETED' "$WORK/$till.out" || fail "$till: no COMPLETED"
    ok "$till took a payment against the installed library: $(grep -c . "$WORK/$till.out") lines, $(grep '^status=COMPLETED' "$WORK/$till.out")"
done
# CMake (find_package, klarna_pos::klarna_pos) and pkg-config tills against the installed copy.
tests/packaging/check_c.sh "$PREFIX" "$WORK/c-check"
echo "install check passed: $PREFIX"
