#!/usr/bin/env bash
# Installs the library with cargo-c into a scratch prefix and builds the C till against the
# installed copy, as a till developer would:
#
#   tests/packaging/install.sh [--debug] [PREFIX]     (default PREFIX: target/install-check/prefix)
#
# Checks: the files cargo-c installs (shared library with SONAME libklarna_pos.so.<major> and
# its links, static library, header(s), klarna_pos.pc, the CMake package in
# share/cmake/klarna_pos/), that the .so exports only kpos_ symbols, then tests/packaging/check_c.sh
# on the prefix: the C till built with CMake (find_package, klarna_pos::klarna_pos), with
# `gcc till.c $(pkg-config --cflags --libs klarna_pos)` and with the static library, each
# needing what it should and taking a payment from the simulator. --debug installs a debug build
# (quicker; tests/run uses it).
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

rm -rf "$PREFIX"
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

# CMake, pkg-config and static tills against the installed copy, each paying.
tests/packaging/check_c.sh "$PREFIX" "$WORK/c-check"
echo "install check passed: $PREFIX"
