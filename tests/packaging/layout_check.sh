#!/usr/bin/env bash
# The packaging checks that need no release or cross build (tests/run runs them; dist.sh runs
# the same checks on the release artifacts):
#   - LICENSE-MIT and LICENSE-APACHE at the root; one version everywhere (Cargo.toml, the
#     header's KPOS_VERSION, the CMake package's version file);
#   - the Linux C archive's tree (layout.sh c-linux) from the debug build: SONAME and links,
#     then check_c.sh: the C till built with CMake (find_package, klarna_pos::klarna_pos) and
#     with pkg-config, each paying against the simulator; find_package(klarna_pos 1.0) refused;
#   - the .nupkg's tree (layout.sh nuget) from the debug build, with stand-in Windows DLLs (text
#     files that only name their architecture), through check_dotnet.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/packaging/lib.sh
work=$KPOS_TARGET_DIR/layout-check

grep -q '^Copyright (c) [0-9]* The klarna-pos developers$' LICENSE-MIT || fail "LICENSE-MIT without its copyright line"
grep -q 'Apache License' LICENSE-APACHE && grep -q 'Version 2.0, January 2004' LICENSE-APACHE || fail "LICENSE-APACHE is not the Apache 2.0 text"
grep -q '^license = "MIT OR Apache-2.0"$' Cargo.toml || fail "Cargo.toml's licence is not MIT OR Apache-2.0"
ok "LICENSE-MIT and LICENSE-APACHE (Cargo.toml: MIT OR Apache-2.0)"

header=$(sed -n 's/^#define KPOS_VERSION "\(.*\)"$/\1/p' include/klarna_pos.h)
cmake_version=$(sed -n 's/^set(PACKAGE_VERSION "\(.*\)")$/\1/p' packaging/cmake/klarna_posConfigVersion.cmake)
[ "$header" = "$KPOS_VERSION" ] || fail "include/klarna_pos.h says $header, Cargo.toml $KPOS_VERSION"
[ "$cmake_version" = "$KPOS_VERSION" ] || fail "packaging/cmake/klarna_posConfigVersion.cmake says $cmake_version, Cargo.toml $KPOS_VERSION"
ok "version $KPOS_VERSION in Cargo.toml, the header and the CMake package"

cargo build --quiet --lib -p klarna-pos
tests/packaging/layout.sh c-linux "$work/c" "$KPOS_TARGET_DIR/debug/libklarna_pos.so" "$KPOS_TARGET_DIR/debug/libklarna_pos.a"
soname=$(readelf -d "$work/c/lib/libklarna_pos.so.$KPOS_VERSION" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libklarna_pos.so.$KPOS_MAJOR" ] || fail "SONAME '$soname'"
[ "$(readlink "$work/c/lib/libklarna_pos.so")" = "libklarna_pos.so.$KPOS_VERSION" ] \
    && [ "$(readlink "$work/c/lib/libklarna_pos.so.$KPOS_MAJOR")" = "libklarna_pos.so.$KPOS_VERSION" ] || fail "links"
ok "C tree: libklarna_pos.so.$KPOS_VERSION (SONAME $soname) with its links, .a, headers, pkg-config and CMake files"
tests/packaging/check_c.sh "$work/c" "$work/c-check"

# A newer major version than the archive's is refused.
mkdir -p "$work/cmake-too-new"
cat > "$work/cmake-too-new/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.10)
project(too_new NONE)
find_package(klarna_pos 1.0 REQUIRED)
CMAKE
if cmake -S "$work/cmake-too-new" -B "$work/cmake-too-new/build" -DCMAKE_PREFIX_PATH="$work/c" > "$work/cmake-too-new.log" 2>&1; then
    fail "find_package(klarna_pos 1.0) accepted version $KPOS_VERSION"
fi
grep -q 'version: 0.1.0\|klarna_posConfig.cmake, version' "$work/cmake-too-new.log" || { cat "$work/cmake-too-new.log" >&2; fail "find_package(klarna_pos 1.0) failed for another reason"; }
ok "find_package(klarna_pos 1.0 REQUIRED) refuses $KPOS_VERSION"

mkdir -p "$work/stand-in/x64" "$work/stand-in/x86"
echo "stand-in for the x64 klarna_pos.dll" > "$work/stand-in/x64/klarna_pos.dll"
echo "stand-in for the x86 klarna_pos.dll" > "$work/stand-in/x86/klarna_pos.dll"
tests/packaging/layout.sh nuget "$work/nuget" "$KPOS_TARGET_DIR/debug/libklarna_pos.so" "$work/stand-in/x64" "$work/stand-in/x86"
tests/packaging/check_dotnet.sh "$work/nuget" "$work/dotnet-check"
echo "layout check passed"
