#!/usr/bin/env bash
# Builds the C till against an unpacked Linux C archive (or any prefix laid out like one) the two
# ways a C or C++ till does, and takes a payment from the simulator with each:
#
#   tests/packaging/check_c.sh PREFIX [WORK_DIR]
#
# 1. CMake: find_package(klarna_pos 0.1 REQUIRED) and target_link_libraries(till
#    klarna_pos::klarna_pos) (tests/packaging/cmake_till); the till needs libklarna_pos.so.<major>
#    and loads it from PREFIX. 2. pkg-config: gcc till.c $(pkg-config --cflags --libs klarna_pos).
# 3. The static library, linked with the libraries `pkg-config --static` lists.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/packaging/lib.sh
prefix=$(cd "${1:?usage: check_c.sh PREFIX [WORK_DIR]}" && pwd)
work=${2:-$KPOS_TARGET_DIR/c-package-check}
rm -rf "$work"
mkdir -p "$work"
start_sim "$work"

cmake -S tests/packaging/cmake_till -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_BUILD_TYPE=Release > "$work/cmake.log" 2>&1 || { cat "$work/cmake.log" >&2; fail "cmake configure"; }
found=$(sed -n 's/.*Found klarna_pos: \([^ ]*\) .*/\1/p' "$work/cmake.log")
cmake --build "$work/cmake" > "$work/cmake-build.log" 2>&1 || { cat "$work/cmake-build.log" >&2; fail "cmake --build"; }
readelf -d "$work/cmake/till" | grep -c "NEEDED.*\[libklarna_pos.so.$KPOS_MAJOR\]" >/dev/null \
    || fail "the CMake till does not need libklarna_pos.so.$KPOS_MAJOR"
loaded=$(ldd "$work/cmake/till" | awk '/libklarna_pos/ {print $3}')
case "$loaded" in "$prefix"/*) ;; *) fail "the CMake till loads '$loaded', not the one in $prefix" ;; esac
pay_with "$work/cmake-till.out" "$work/cmake/till"
ok "CMake: find_package(klarna_pos 0.1 REQUIRED) found ${found#"$prefix"/}; till linked with klarna_pos::klarna_pos needs libklarna_pos.so.$KPOS_MAJOR, loads ${loaded#"$prefix"/}, paid ($(grep '^status=COMPLETED' "$work/cmake-till.out"), $(grep -c . "$work/cmake-till.out") lines)"

export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
[ "$(pkg-config --modversion klarna_pos)" = "$KPOS_VERSION" ] || fail "pkg-config --modversion is not $KPOS_VERSION"
# shellcheck disable=SC2046
gcc -std=c99 -Wall -Wextra -Werror -O2 examples/c/till.c -o "$work/till-pc" $(pkg-config --cflags --libs klarna_pos)
readelf -d "$work/till-pc" | grep -c "NEEDED.*\[libklarna_pos.so.$KPOS_MAJOR\]" >/dev/null || fail "the pkg-config till does not need libklarna_pos.so.$KPOS_MAJOR"
LD_LIBRARY_PATH=$prefix/lib pay_with "$work/pc-till.out" "$work/till-pc"
ok "pkg-config: gcc till.c \$(pkg-config --cflags --libs klarna_pos) (version $KPOS_VERSION), paid ($(grep '^status=COMPLETED' "$work/pc-till.out"))"

# The static library, with the system libraries pkg-config --static lists for it.
# shellcheck disable=SC2046
gcc -std=c99 -Wall -Wextra -Werror -O2 examples/c/till.c -o "$work/till-static" \
    $(pkg-config --cflags klarna_pos) "$prefix/lib/libklarna_pos.a" \
    $(pkg-config --static --libs klarna_pos | sed 's/-lklarna_pos//; s/-L[^ ]*//g')
readelf -d "$work/till-static" | grep -c "libklarna_pos" >/dev/null && fail "the static till needs the shared library"
pay_with "$work/static-till.out" "$work/till-static"
ok "static: till.c linked with lib/libklarna_pos.a and pkg-config --static's libraries, paid ($(grep '^status=COMPLETED' "$work/static-till.out"))"
