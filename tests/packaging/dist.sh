#!/usr/bin/env bash
# One release command: builds everything a release publishes into target/dist/, with SHA256SUMS,
# and checks each artifact as its users would use it (docs/packages.md):
#
#   nice -n 10 tests/packaging/dist.sh
#
#   klarna_pos-<v>-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl   (glibc 2.17 library)
#   klarna_pos-<v>-py3-none-win_amd64.whl, klarna_pos-<v>-py3-none-win32.whl (the DLLs)
#   klarna_pos-<v>.tar.gz                                                   (sdist; needs cargo)
#   KlarnaPos.<v>.nupkg                       lib/net45, lib/netstandard2.0, runtimes/*/native
#   klarna_pos-<v>-linux-x86_64.tar.gz        .so (SONAME, links), .a, headers, pkg-config, CMake
#   klarna_pos-<v>-windows-x64.zip, klarna_pos-<v>-windows-x86.zip   DLL, .lib, .def, .dll.a, headers, CMake
#
# Minutes of release builds (the portable build with cargo-zigbuild, tests/packaging/portable.sh;
# both Windows DLLs, tests/packaging/windows.sh; the sdist's own build): not part of tests/run,
# which runs tests/packaging/layout_check.sh instead. Needs, besides what tests/run installs:
# cargo-zigbuild and ziglang, build and auditwheel (pip), nuget, zip, mingw-w64 and wine64 (Debian).
# Scratch space: target/dist-work/. Exits non-zero at the first failed check.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
. tests/packaging/lib.sh
V=$KPOS_VERSION
DIST=$KPOS_TARGET_DIR/dist
WORK=$KPOS_TARGET_DIR/dist-work
started=$(date +%s)
step() { printf '\n=== %s (%d s)\n' "$*" $(( $(date +%s) - started )); }

missing=()
for tool in cargo-zigbuild patchelf nuget mono mcs xbuild cmake zip unzip pkg-config auditwheel file \
    x86_64-w64-mingw32-gcc i686-w64-mingw32-gcc; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
python3 -m build --version >/dev/null 2>&1 || missing+=("python3 -m build (pip install build)")
[ ${#missing[@]} -eq 0 ] || fail "missing: ${missing[*]} (see docs/packages.md, Cutting a release)"

rm -rf "$DIST" "$WORK"
mkdir -p "$DIST" "$WORK"

step "portable Linux library (glibc 2.17)"
tests/packaging/portable.sh
PORTABLE=$KPOS_TARGET_DIR/x86_64-unknown-linux-gnu/release

step "Windows DLLs"
tests/packaging/windows.sh
for arch in x64 x86; do
    [ -f "$KPOS_TARGET_DIR/windows/$arch/klarna_pos.dll" ] || fail "tests/packaging/windows.sh left no target/windows/$arch/klarna_pos.dll"
done

step "C/C++ archives"
linux=klarna_pos-$V-linux-x86_64
tests/packaging/layout.sh c-linux "$WORK/$linux" "$PORTABLE/libklarna_pos.so" "$PORTABLE/libklarna_pos.a"
tar -C "$WORK" --owner=0 --group=0 -czf "$DIST/$linux.tar.gz" "$linux"
for arch in x64 x86; do
    tests/packaging/layout.sh c-windows "$WORK/klarna_pos-$V-windows-$arch" "$KPOS_TARGET_DIR/windows/$arch"
    (cd "$WORK" && zip -qr "$DIST/klarna_pos-$V-windows-$arch.zip" "klarna_pos-$V-windows-$arch")
done
ok "$linux.tar.gz, klarna_pos-$V-windows-x64.zip, klarna_pos-$V-windows-x86.zip"

step "Python sdist and wheels"
python3 -m build --sdist --outdir "$DIST" bindings/python > "$WORK/sdist.log" 2>&1 || { cat "$WORK/sdist.log" >&2; fail "sdist"; }
SDIST=$DIST/klarna_pos-$V.tar.gz
[ -f "$SDIST" ] || fail "no $SDIST"
# The wheels are built from the sdist, as a build farm would: that checks the sdist is complete.
mkdir -p "$WORK/wheel-linux"
cp "$WORK/$linux/lib/libklarna_pos.so.$V" "$WORK/wheel-linux/libklarna_pos.so"
build_wheel() {
    KLARNA_POS_PREBUILT_LIBRARY=$1 KLARNA_POS_WHEEL_PLATFORM=$2 \
        python3 -m build --wheel --outdir "$DIST" "$SDIST" > "$WORK/wheel-$2.log" 2>&1 \
        || { cat "$WORK/wheel-$2.log" >&2; fail "wheel $2"; }
    [ -f "$DIST/klarna_pos-$V-py3-none-$2.whl" ] || fail "no klarna_pos-$V-py3-none-$2.whl"
}
build_wheel "$WORK/wheel-linux/libklarna_pos.so" manylinux_2_17_x86_64.manylinux2014_x86_64
build_wheel "$KPOS_TARGET_DIR/windows/x64/klarna_pos.dll" win_amd64
build_wheel "$KPOS_TARGET_DIR/windows/x86/klarna_pos.dll" win32
ok "sdist and three wheels"

step ".NET package"
tests/packaging/layout.sh nuget "$WORK/nuget" "$WORK/wheel-linux/libklarna_pos.so" \
    "$KPOS_TARGET_DIR/windows/x64" "$KPOS_TARGET_DIR/windows/x86"
(cd "$WORK/nuget" && nuget pack KlarnaPos.nuspec -OutputDirectory "$DIST" -NoPackageAnalysis -NonInteractive) \
    > "$WORK/nuget.log" 2>&1 || { cat "$WORK/nuget.log" >&2; fail "nuget pack"; }
[ -f "$DIST/KlarnaPos.$V.nupkg" ] || fail "no KlarnaPos.$V.nupkg"
ok "KlarnaPos.$V.nupkg (nuget pack, Debian nuget $(dpkg-query -W -f='${Version}' nuget 2>/dev/null || echo '?'))"

(cd "$DIST" && sha256sum -- * > SHA256SUMS.tmp && mv SHA256SUMS.tmp SHA256SUMS)

# ---- checks on the artifacts -----------------------------------------------------------------
step "check: sha256sum -c SHA256SUMS"
(cd "$DIST" && sha256sum -c SHA256SUMS)

step "check: names and versions"
expected=(
    "KlarnaPos.$V.nupkg"
    "klarna_pos-$V-linux-x86_64.tar.gz"
    "klarna_pos-$V-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    "klarna_pos-$V-py3-none-win32.whl"
    "klarna_pos-$V-py3-none-win_amd64.whl"
    "klarna_pos-$V-windows-x64.zip"
    "klarna_pos-$V-windows-x86.zip"
    "klarna_pos-$V.tar.gz"
    "SHA256SUMS"
)
[ "$(cd "$DIST" && ls | sort)" = "$(printf '%s\n' "${expected[@]}" | sort)" ] \
    || fail "target/dist holds $(cd "$DIST" && ls | tr '\n' ' '), not the expected artifacts"
U=$WORK/unpacked
mkdir -p "$U"
for whl in "$DIST"/*.whl; do
    name=$(basename "$whl" .whl)
    unzip -q "$whl" -d "$U/$name"
    info=$U/$name/klarna_pos-$V.dist-info
    grep -qx "Version: $V" "$info/METADATA" || fail "$name: METADATA version"
    [ "$(cat "$U/$name/klarna_pos/VERSION")" = "$V" ] || fail "$name: klarna_pos/VERSION"
    [ -f "$info/licenses/LICENSE-MIT" ] && [ -f "$info/licenses/LICENSE-APACHE" ] || fail "$name: licence files"
    tag=${name#klarna_pos-$V-}
    for t in $(echo "${tag#py3-none-}" | tr . ' '); do
        grep -qx "Tag: py3-none-$t" "$info/WHEEL" || fail "$name: WHEEL lacks Tag: py3-none-$t"
    done
    case "$name" in
    *manylinux*) lib=klarna_pos/libklarna_pos.so; machine='ELF 64-bit.*x86-64' ;;
    *win_amd64) lib=klarna_pos/klarna_pos.dll; machine='PE32\+ executable.*x86-64' ;;
    *win32) lib=klarna_pos/klarna_pos.dll; machine='PE32 executable.*Intel 80386' ;;
    esac
    file -b "$U/$name/$lib" | grep -Ec "$machine" >/dev/null || fail "$name: $lib is $(file -b "$U/$name/$lib")"
    [ -z "$(ls "$U/$name/klarna_pos" | grep -E '\.(so|dll)$' | grep -vx "$(basename "$lib")")" ] \
        || fail "$name: more than one native library"
    ok "$name: METADATA Version $V, WHEEL tags, licences, $lib ($(file -b "$U/$name/$lib" | cut -d, -f1-2))"
done
tar -xzf "$SDIST" -C "$U"
grep -qx "Version: $V" "$U/klarna_pos-$V/PKG-INFO" && [ -f "$U/klarna_pos-$V/rust/Cargo.toml" ] \
    && [ -f "$U/klarna_pos-$V/LICENSE-MIT" ] && [ -f "$U/klarna_pos-$V/LICENSE-APACHE" ] || fail "sdist contents"
ok "klarna_pos-$V.tar.gz: PKG-INFO Version $V, the crate in rust/, licences"
tar -xzf "$DIST/$linux.tar.gz" -C "$U"
grep -qx "Version: $V" "$U/$linux/lib/pkgconfig/klarna_pos.pc" \
    && grep -q "^set(PACKAGE_VERSION \"$V\")" "$U/$linux/lib/cmake/klarna_pos/klarna_posConfigVersion.cmake" \
    && grep -q "^#define KPOS_VERSION \"$V\"" "$U/$linux/include/klarna_pos.h" \
    && [ -f "$U/$linux/LICENSE-MIT" ] && [ -f "$U/$linux/LICENSE-APACHE" ] || fail "$linux: versions or licences"
highest=$(objdump -T "$U/$linux/lib/libklarna_pos.so.$V" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)
[ "$(printf '%s\n' "${highest#GLIBC_}" 2.17 | sort -V | tail -1)" = 2.17 ] || fail "$linux: the .so needs $highest"
ok "$linux.tar.gz: pkg-config, CMake and header version $V, licences; the .so needs at most $highest"
for arch in x64 x86; do
    z=klarna_pos-$V-windows-$arch
    unzip -q "$DIST/$z.zip" -d "$U"
    for f in bin/klarna_pos.dll lib/klarna_pos.lib lib/klarna_pos.def lib/libklarna_pos.dll.a include/klarna_pos.h \
        lib/cmake/klarna_pos/klarna_posConfig.cmake lib/cmake/klarna_pos/klarna_posConfigVersion.cmake LICENSE-MIT LICENSE-APACHE; do
        [ -f "$U/$z/$f" ] || fail "$z.zip lacks $f"
    done
    grep -q "^set(PACKAGE_VERSION \"$V\")" "$U/$z/lib/cmake/klarna_pos/klarna_posConfigVersion.cmake" || fail "$z: CMake version"
    ok "$z.zip: $(cd "$U/$z" && find . -type f | sed 's:^\./::' | sort | tr '\n' ' ')"
done
mkdir -p "$U/nupkg"
unzip -q "$DIST/KlarnaPos.$V.nupkg" -d "$U/nupkg"
grep -q "<version>$V</version>" "$U/nupkg/KlarnaPos.nuspec" || fail "nupkg: nuspec version"
ok "KlarnaPos.$V.nupkg: nuspec version $V"
ok "every artifact's name and metadata say $V (Cargo.toml)"

step "check: auditwheel show"
auditwheel show "$DIST/klarna_pos-$V-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl" | tee "$WORK/auditwheel.txt"
tr -s ' \n' ' ' < "$WORK/auditwheel.txt" | grep -c 'consistent with the following platform tag: "manylinux_2_17_x86_64"' >/dev/null \
    || fail "auditwheel does not confirm manylinux_2_17_x86_64"
ok "auditwheel: manylinux_2_17_x86_64 (manylinux2014)"

step "check: the manylinux wheel in a new virtual environment without cargo pays"
start_sim "$WORK/python"
python3 -m venv "$WORK/python/venv"
VPY=$WORK/python/venv/bin/python
# A user's shell: no cargo on PATH, nothing of this checkout's set-up in the environment.
clean_path=$WORK/python/venv/bin:/usr/local/bin:/usr/bin:/bin
user_env() { env -u KLARNA_POS_LIBRARY -u KLARNA_POS_SOURCE_DIR -u PYTHONPATH -u CARGO_TARGET_DIR PATH="$clean_path" "$@"; }
user_env sh -c 'command -v cargo' >/dev/null && fail "cargo is on the clean PATH"
user_env "$VPY" -m pip install --quiet --no-index \
    "$DIST/klarna_pos-$V-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
loaded=$(cd "$WORK/python" && user_env "$VPY" -c \
    'import klarna_pos, klarna_pos._native as n; print(n.lib._name, klarna_pos.__version__)')
case "$loaded" in "$WORK/python/venv/"*"/site-packages/klarna_pos/libklarna_pos.so $V") ;; *) fail "the venv loads: $loaded" ;; esac
(cd "$WORK/python" && user_env KLARNA_API_URL="$SIM_URL" KLARNA_USERNAME=test_user KLARNA_PASSWORD=test_password \
    "$VPY" "$ROOT/examples/python/till.py" "$ROOT/examples/orders/se_coffee.json" --timeout-ms 20000 \
    > "$WORK/python/till.out") || fail "the Python till exited $?: $(cat "$WORK/python/till.out")"
grep -q '^status=COMPLETED' "$WORK/python/till.out" || fail "the Python till did not pay: $(cat "$WORK/python/till.out")"
sed 's/^/    /' "$WORK/python/till.out"
ok "pip install of the manylinux wheel (no cargo on PATH); the package loads ${loaded#"$WORK/python/venv/"}; examples/python/till.py paid"
kill "$KPOS_SIM_PID" 2>/dev/null || true

step "check: the sdist without cargo says what it needs; with cargo it builds"
if user_env "$VPY" -m pip install --no-binary klarna-pos "$SDIST" > "$WORK/sdist-nocargo.log" 2>&1; then
    fail "the sdist installed without cargo"
fi
grep -q 'needs a Rust toolchain: cargo and rustc' "$WORK/sdist-nocargo.log" \
    || { cat "$WORK/sdist-nocargo.log" >&2; fail "the sdist's failure without cargo does not say what it needs"; }
grep -o 'klarna-pos: building this package from source.*' "$WORK/sdist-nocargo.log" | head -1 | sed 's/^/    /'
ok "pip install klarna_pos-$V.tar.gz without cargo fails and says what it needs"
CARGO_TARGET_DIR=$KPOS_TARGET_DIR python3 -m build --wheel --outdir "$WORK/sdist-wheel" "$SDIST" > "$WORK/sdist-build.log" 2>&1 \
    || { tail -30 "$WORK/sdist-build.log" >&2; fail "the sdist does not build with cargo"; }
ok "the sdist builds with cargo: $(cd "$WORK/sdist-wheel" && ls)"

step "check: CMake and pkg-config against the unpacked Linux archive"
tests/packaging/check_c.sh "$U/$linux" "$WORK/c-check"

step "check: CMake (MinGW) against the unpacked Windows archives"
# The MSVC import library lists the exports; MinGW links through the CMake package with
# libklarna_pos.dll.a. The x64 till runs under wine64 against the simulator (32-bit wine is not
# available everywhere; the x86 till is built and linked only).
start_sim "$WORK/windows-check"
for arch in x64 x86; do
    z=klarna_pos-$V-windows-$arch
    if [ "$arch" = x64 ]; then cc=x86_64-w64-mingw32-gcc; else cc=i686-w64-mingw32-gcc; fi
    llvm-nm "$U/$z/lib/klarna_pos.lib" 2>/dev/null | grep -Ec ' _?kpos_version$' >/dev/null \
        || objdump -t "$U/$z/lib/klarna_pos.lib" 2>/dev/null | grep -Ec '_?kpos_version$' >/dev/null \
        || fail "$z: klarna_pos.lib does not import kpos_version"
    b=$WORK/windows-check/$arch
    cmake -S tests/packaging/cmake_till -B "$b" -DCMAKE_SYSTEM_NAME=Windows -DCMAKE_C_COMPILER="$cc" \
        -DCMAKE_PREFIX_PATH="$U/$z" -DCMAKE_BUILD_TYPE=Release -DCMAKE_EXE_LINKER_FLAGS=-static-libgcc \
        > "$b.log" 2>&1 || { cat "$b.log" >&2; fail "$z: cmake configure (MinGW)"; }
    cmake --build "$b" >> "$b.log" 2>&1 || { cat "$b.log" >&2; fail "$z: cmake --build (MinGW)"; }
    "${cc%-gcc}-objdump" -p "$b/till.exe" | grep -c 'DLL Name: klarna_pos.dll' >/dev/null || fail "$z: till.exe does not import klarna_pos.dll"
    ran="built and linked (not run)"
    if [ "$arch" = x64 ] && [ -x /usr/lib/wine/wine64 ]; then
        cp "$U/$z/bin/klarna_pos.dll" "$b/"
        # wine lacks bcryptprimitives.dll, which Rust's standard library uses (docs/windows.md).
        "$cc" -shared -O2 -o "$b/bcryptprimitives.dll" tests/packaging/windows/bcryptprimitives.c \
            tests/packaging/windows/bcryptprimitives.def -ladvapi32
        (cd "$b" && WINEPREFIX=$WORK/windows-check/wineprefix WINEARCH=win64 WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" \
            KLARNA_API_URL=$SIM_URL KLARNA_USERNAME=test_user KLARNA_PASSWORD=test_password \
            timeout 300 /usr/lib/wine/wine64 till.exe "$ROOT/examples/orders/se_coffee.json" --timeout-ms 60000 \
            > till.out 2> till.err) || fail "$z: till.exe under wine64 exited $? ($(tr -d '\r' < "$b/till.out" | tr '\n' ' '))"
        grep -q '^status=COMPLETED' <(tr -d '\r' < "$b/till.out") || fail "$z: till.exe did not pay"
        ran="paid under $(/usr/lib/wine/wine64 --version) (status=COMPLETED)"
    fi
    ok "$z.zip: klarna_pos.lib imports kpos_*; CMake find_package + klarna_pos::klarna_pos with $cc: till.exe $ran"
done
kill "$KPOS_SIM_PID" 2>/dev/null || true

step "check: the .NET package"
tests/packaging/check_dotnet.sh "$U/nupkg" "$WORK/dotnet-check"
bindings/dotnet/tests/run.sh "$U/nupkg/lib/net45/KlarnaPos.dll" "$U/nupkg/runtimes/linux-x64/native/libklarna_pos.so"

step "target/dist"
(cd "$DIST" && ls -l --time-style=+ | sed 's/^/    /')
echo "dist passed: $(ls "$DIST" | wc -l) files in $DIST ($(( $(date +%s) - started )) s)"
