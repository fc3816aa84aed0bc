#!/usr/bin/env bash
# Lays out the trees the release packages hold, from libraries built beforehand
# (tests/packaging/dist.sh with the portable and Windows builds; tests/packaging/layout_check.sh
# with the debug build). Every tree carries LICENSE-MIT and LICENSE-APACHE.
#
#   layout.sh c-linux DIR SO STATIC_LIB     the Linux C/C++ archive (docs/packages.md)
#   layout.sh c-windows DIR WINDOWS_DIR     the Windows C/C++ archive, from target/windows/<x64|x86>
#   layout.sh nuget DIR LINUX_SO [WIN_X64_DIR WIN_X86_DIR]
#                                           the .nupkg's tree and its KlarnaPos.nuspec
#
# DIR is emptied first. Needs patchelf (c-linux gives the .so its SONAME libklarna_pos.so.<major>,
# as cargo cinstall does) and mcs (nuget).
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/packaging/lib.sh

kind=${1:?usage: layout.sh c-linux|c-windows|nuget DIR ...}
dir=${2:?usage: layout.sh $kind DIR ...}
shift 2
rm -rf "$dir"
mkdir -p "$dir"
cp LICENSE-MIT LICENSE-APACHE "$dir/"

# The headers and the CMake package, common to both C archives.
c_common() {
    mkdir -p "$dir/include" "$dir/lib/cmake/klarna_pos"
    cp include/klarna_pos.h "$dir/include/"
    [ ! -f include/klarna_pos.hpp ] || cp include/klarna_pos.hpp "$dir/include/"
    cp packaging/cmake/klarna_posConfig.cmake packaging/cmake/klarna_posConfigVersion.cmake \
        "$dir/lib/cmake/klarna_pos/"
}

case "$kind" in
c-linux)
    so=${1:?SO}; static=${2:?STATIC_LIB}
    c_common
    mkdir -p "$dir/lib/pkgconfig"
    real=libklarna_pos.so.$KPOS_VERSION
    cp "$so" "$dir/lib/$real"
    chmod 755 "$dir/lib/$real"
    patchelf --set-soname "libklarna_pos.so.$KPOS_MAJOR" "$dir/lib/$real"
    ln -s "$real" "$dir/lib/libklarna_pos.so.$KPOS_MAJOR"
    ln -s "$real" "$dir/lib/libklarna_pos.so"
    # Without its debug sections (a fifth of the release .a); the symbols stay.
    strip --strip-debug -o "$dir/lib/libklarna_pos.a" "$static"
    # Libs.private: what rustc's --print native-static-libs lists for x86_64-unknown-linux-gnu.
    sed -e "s/@VERSION@/$KPOS_VERSION/" -e 's/@LIBS_PRIVATE@/-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc/' \
        packaging/klarna_pos.pc.in > "$dir/lib/pkgconfig/klarna_pos.pc"
    ;;
c-windows)
    win=${1:?WINDOWS_DIR}
    c_common
    mkdir -p "$dir/bin"
    for f in klarna_pos.dll klarna_pos.lib klarna_pos.def libklarna_pos.dll.a; do
        [ -f "$win/$f" ] || fail "$win/$f is missing (tests/packaging/windows.sh builds it)"
    done
    cp "$win/klarna_pos.dll" "$dir/bin/"
    cp "$win/klarna_pos.lib" "$win/klarna_pos.def" "$win/libklarna_pos.dll.a" "$dir/lib/"
    # The headers the Windows build put out, when it did (they are the committed ones).
    for h in "$win"/include/*.h "$win"/include/*.hpp "$win"/*.h "$win"/*.hpp; do
        [ ! -f "$h" ] || cmp -s "$h" "include/$(basename "$h")" || fail "$h differs from include/$(basename "$h")"
    done
    ;;
nuget)
    so=${1:?LINUX_SO}; win64=${2:-}; win32=${3:-}
    mkdir -p "$dir/lib/net45" "$dir/lib/netstandard2.0" "$dir/build/net45" "$dir/runtimes/linux-x64/native"
    # One assembly for both: mcs compiles against the .NET Framework 4.5 API, all of which the
    # binding uses is in .NET Standard 2.0 (.NET Core and .NET 5+ load it through their
    # mscorlib facade).
    bindings/dotnet/build.sh "$dir/lib/net45"
    rm "$dir/lib/net45/BindingVersion.g.cs"
    cp "$dir/lib/net45/KlarnaPos.dll" "$dir/lib/net45/KlarnaPos.xml" "$dir/lib/netstandard2.0/"
    cp "$so" "$dir/runtimes/linux-x64/native/libklarna_pos.so"
    if [ -n "$win64" ]; then
        mkdir -p "$dir/runtimes/win-x64/native" "$dir/runtimes/win-x86/native"
        cp "$win64/klarna_pos.dll" "$dir/runtimes/win-x64/native/"
        cp "$win32/klarna_pos.dll" "$dir/runtimes/win-x86/native/"
    fi
    cp packaging/nuget/KlarnaPos.targets "$dir/build/net45/"
    sed "s/@VERSION@/$KPOS_VERSION/" packaging/nuget/KlarnaPos.nuspec.in > "$dir/KlarnaPos.nuspec"
    ;;
*)
    fail "unknown layout '$kind'"
    ;;
esac
