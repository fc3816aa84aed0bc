#!/usr/bin/env bash
# Windows: cross-builds the release klarna_pos.dll for 32- and 64-bit Windows with mingw-w64,
# with what C, C++, Visual C++, MinGW, VB6 and PowerBuilder tills need to use it, checks the
# exports and the import libraries, and runs the tills against the simulator under wine.
#
#   tests/packaging/windows.sh [x86] [x64]      (default: both)
#
# Output, one folder per architecture (what a release ships):
#   target/windows/x86/  and  target/windows/x64/
#     klarna_pos.dll         the library (no mingw runtime DLL needed: libgcc is static)
#     klarna_pos.def         its exports (32-bit: the stdcall `_w` functions as name@N)
#     klarna_pos.lib         MSVC import library (llvm-dlltool from the .def; on 32-bit it maps
#                            the decorated `_kpos_version_w@8` a Visual C++ caller references to
#                            the undecorated export `kpos_version_w`)
#     libklarna_pos.dll.a    MinGW import library (dlltool from the .def, the same mapping)
#     klarna_pos.h, klarna_pos.hpp
# Test programs and their output go to target/windows/test-<arch>/, never into those folders:
# till.exe (examples/c/till.c, linked with libklarna_pos.dll.a), wide_till.exe (what VB6 and
# PowerBuilder can do: LoadLibrary, GetProcAddress, __stdcall, UTF-16), link_check.exe (no C
# runtime, linked by lld against klarna_pos.lib; also a MinGW-linked one), and the test-only
# bcryptprimitives.dll stand-in: wine 8 lacks that DLL, from which Rust's standard library takes
# its random numbers (Windows 10 and later have it).
#
# Needs: rustup targets i686-pc-windows-gnu and x86_64-pc-windows-gnu; Debian gcc-mingw-w64,
# llvm (llvm-dlltool, llvm-readobj), lld, clang-14, curl, python3, wine (wine64 for 64-bit
# programs; wine32:i386 for 32-bit ones: `dpkg --add-architecture i386 && apt-get update &&
# apt-get install wine32:i386`). Without a wine loader an architecture is built and checked but
# not run, and the summary says so.
#
# Every function is undecorated in the export table. The C API is cdecl (`extern "C"`); the
# `_w` layer is stdcall on 32-bit Windows (docs/windows.md).
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR=$ROOT/$TARGET_DIR ;; esac
ARCHES=("$@")
[ ${#ARCHES[@]} -gt 0 ] || ARCHES=(x86 x64)
HERE=tests/packaging/windows
LLVM_DLLTOOL=$(command -v llvm-dlltool || command -v llvm-dlltool-14 || true)
LLVM_READOBJ=$(command -v llvm-readobj || command -v llvm-readobj-14 || true)
CLANG=$(command -v clang-14 || command -v clang || true)

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
    [ -n "$SIM_URL" ]
}

# The .def of the DLL from the committed header: every function, the KPOS_STDCALL ones with
# @N on 32-bit (N: 4 bytes per argument; every argument of the `_w` layer is a pointer or a
# 32-bit integer). The linker checks N: link_check.c references each with the header's types.
write_def() { # ARCH OUT
    python3 - "$1" "$2" <<'EOF'
import re, sys
arch, out = sys.argv[1], sys.argv[2]
text = open("include/klarna_pos.h", encoding="utf-8").read()
text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
text = "\n".join(l for l in text.splitlines() if not l.lstrip().startswith("#"))
names = []
for decl in " ".join(text.split()).split(";"):
    m = re.search(r"(\w+)\s*\(([^()]*)\)\s*$", decl.strip())
    if not m or not m.group(1).startswith("kpos_") or "typedef" in decl:
        continue
    name, params = m.group(1), m.group(2).strip()
    if "KPOS_STDCALL" in decl and arch == "x86":
        args = 0 if params in ("", "void") else len(params.split(","))
        for p in params.split(","):
            assert not re.search(r"\b(u?int64_t|double)\b", p), (name, p)
        name = f"{name}@{4 * args}"
    names.append(name)
with open(out, "w") as f:
    f.write("LIBRARY klarna_pos.dll\nEXPORTS\n")
    for n in sorted(names):
        f.write(f"    {n}\n")
EOF
}

results=()
status=0
fail() { results+=("$1: FAILED: $2"); status=1; }
mkdir -p "$TARGET_DIR/windows"
for arch in "${ARCHES[@]}"; do
    case $arch in
        x86) triple=i686; machine=i386; wine=/usr/lib/wine/wine; winearch=win32 ;;
        x64) triple=x86_64; machine=i386:x86-64; wine=/usr/lib/wine/wine64; winearch=win64 ;;
        *) echo "unknown architecture $arch (x86, x64)" >&2; exit 64 ;;
    esac
    target=$triple-pc-windows-gnu
    cc=$triple-w64-mingw32-gcc
    out=$TARGET_DIR/windows/$arch
    test=$TARGET_DIR/windows/test-$arch
    if ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
        results+=("$arch: skipped (rustup target add $target)"); continue
    fi
    if ! command -v "$cc" >/dev/null; then
        results+=("$arch: skipped (apt-get install gcc-mingw-w64-${triple/_/-})"); continue
    fi
    echo "=== $arch: building klarna_pos.dll ($target, release)" >&2
    if ! nice -n 10 cargo rustc --release --quiet --lib -p klarna-pos --target "$target" --crate-type cdylib,staticlib; then
        fail "$arch" "cargo build"; continue
    fi
    rm -rf "$out" "$test"
    mkdir -p "$out" "$test"
    rel=$TARGET_DIR/$target/release
    cp "$rel/klarna_pos.dll" include/klarna_pos.h include/klarna_pos.hpp "$out/"

    # Exports: only kpos_ names, none decorated.
    exports=$("$triple-w64-mingw32-objdump" -p "$out/klarna_pos.dll" \
        | awk '/\[Ordinal\/Name Pointer\] Table/ {on=1; next} on && NF == 0 {on=0} on {print $NF}')
    foreign=$(echo "$exports" | grep -v '^kpos_[a-z0-9_]*$' || true)
    if [ -n "$foreign" ]; then
        fail "$arch" "exports besides undecorated kpos_ names: $(echo "$foreign" | tr '\n' ' ')"; continue
    fi
    imports=$("$triple-w64-mingw32-objdump" -p "$out/klarna_pos.dll" | sed -n 's/.*DLL Name: //p' | sort -fu | tr '\n' ' ')
    if echo "$imports" | grep -qiE 'libgcc|libwinpthread|libstdc'; then
        fail "$arch" "needs a mingw runtime DLL: $imports"; continue
    fi
    wide=$(echo "$exports" | grep -c '_w$')
    echo "# $arch: klarna_pos.dll $(stat -c %s "$out/klarna_pos.dll") bytes, $(echo "$exports" | wc -l) exports ($wide _w), all undecorated kpos_; imports: $imports" >&2

    # The .def, checked against the DLL's exports, and the import libraries from it.
    write_def "$arch" "$out/klarna_pos.def" || { fail "$arch" "klarna_pos.def"; continue; }
    def_names=$(sed -n 's/^    //p' "$out/klarna_pos.def" | tr -d '\r' | sed 's/@[0-9]*$//' | sort)
    if [ "$def_names" != "$(echo "$exports" | sort)" ]; then
        fail "$arch" "klarna_pos.def and the DLL's exports differ: $(diff <(echo "$def_names") <(echo "$exports" | sort) | grep '^[<>]' | tr '\n' ' ')"; continue
    fi
    echo "# $arch: exports and klarna_pos.def (excerpt):" >&2
    paste <(echo "$exports" | sort) <(sed -n 's/^    //p' "$out/klarna_pos.def" | sort -t@ -k1,1) \
        | grep -E 'kpos_(version|session_create|order_refund)(_w)?\b' | sed 's/^/#     /' >&2
    kill_at=(); [ "$arch" = x86 ] && kill_at=(-k)
    if [ -z "$LLVM_DLLTOOL" ] || ! "$LLVM_DLLTOOL" -m "$machine" "${kill_at[@]}" -D klarna_pos.dll \
            -d "$out/klarna_pos.def" -l "$out/klarna_pos.lib"; then
        fail "$arch" "klarna_pos.lib (llvm-dlltool)"; continue
    fi
    if ! "$triple-w64-mingw32-dlltool" "${kill_at[@]}" -D klarna_pos.dll -d "$out/klarna_pos.def" \
            -l "$out/libklarna_pos.dll.a"; then
        fail "$arch" "libklarna_pos.dll.a (dlltool)"; continue
    fi

    # The MSVC import library as llvm-readobj reads it: the kpos_version_w member.
    if [ -n "$LLVM_READOBJ" ]; then
        echo "# $arch: llvm-readobj klarna_pos.lib, the kpos_version_w member:" >&2
        "$LLVM_READOBJ" "$out/klarna_pos.lib" 2>/dev/null | tr -d '\r' \
            | grep -B4 -A1 'Symbol: __imp__*kpos_version_w' | sed 's/^/#     /' >&2
    fi

    # Link checks: Visual C++ style (clang + lld, no C runtime) against klarna_pos.lib, and
    # MinGW against libklarna_pos.dll.a. w_functions.h lists every _w function of the .def.
    { printf '#define KPOS_W_FUNCTIONS'
      sed -n 's/^    \(kpos_[a-z0-9_]*_w\)\(@[0-9]*\)\{0,1\}\r\{0,1\}$/ X(\1)/p' "$out/klarna_pos.def" | tr -d '\n'
      echo; } > "$test/w_functions.h"
    if [ -z "$CLANG" ]; then
        fail "$arch" "no clang to link link_check.exe against klarna_pos.lib"; continue
    fi
    if ! "$CLANG" --target="$triple-pc-windows-msvc" -fuse-ld=lld -nostdlib -ffreestanding \
            -fno-stack-protector -mno-stack-arg-probe -O1 -DKPOS_NO_CRT -DKPOS_MUST_USE= \
            -I "$out" -I "$test" "$HERE/link_check.c" "$out/klarna_pos.lib" \
            -Wl,-entry:start -Wl,-subsystem:console -o "$test/link_check.exe" 2> "$test/link_check.err"; then
        cat "$test/link_check.err" >&2
        fail "$arch" "link_check.exe does not link against klarna_pos.lib"; continue
    fi
    lld_imports=$("$LLVM_READOBJ" --coff-imports "$test/link_check.exe" | tr -d '\r' \
        | awk '/Name: klarna_pos.dll/ {on=1} /^  }/ {on=0} on && /Symbol: / {print $2}' | sort -u)
    n_wide_imports=$(echo "$lld_imports" | grep -c '_w$')
    if [ "$n_wide_imports" -ne "$wide" ] || echo "$lld_imports" | grep -q '@'; then
        fail "$arch" "link_check.exe imports $(echo "$lld_imports" | tr '\n' ' ')"; continue
    fi
    echo "# $arch: link_check.exe (clang --target=$triple-pc-windows-msvc, lld, no CRT) linked against klarna_pos.lib; it imports from klarna_pos.dll: $(echo "$lld_imports" | head -3 | tr '\n' ' ')... ($n_wide_imports _w, all undecorated)" >&2
    if ! "$cc" -O2 -Wall -Wextra -Werror -static-libgcc -I "$out" -I "$test" "$HERE/link_check.c" \
            -o "$test/link_check_mingw.exe" -L "$out" -lklarna_pos; then
        fail "$arch" "link_check_mingw.exe does not link against libklarna_pos.dll.a"; continue
    fi
    mingw_imports=$("$triple-w64-mingw32-objdump" -p "$test/link_check_mingw.exe" \
        | awk '/DLL Name: klarna_pos.dll/ {on=1; next} /DLL Name:/ {on=0} on && $3 ~ /^kpos_/ {print $3}')
    if [ "$(echo "$mingw_imports" | grep -c '_w$')" -ne "$wide" ] || echo "$mingw_imports" | grep -q '@'; then
        fail "$arch" "link_check_mingw.exe imports $(echo "$mingw_imports" | tr '\n' ' ')"; continue
    fi
    echo "# $arch: link_check_mingw.exe (gcc, libklarna_pos.dll.a) imports every _w function undecorated" >&2
    if ! "$cc" -std=c99 -Wall -Wextra -Werror -O2 -static-libgcc -I "$out" examples/c/till.c \
            -o "$test/till.exe" -L "$out" -lklarna_pos; then
        fail "$arch" "till.exe"; continue
    fi
    if ! "$cc" -municode -Wall -Wextra -Werror -O2 -static-libgcc "$HERE/wide_till.c" \
            -o "$test/wide_till.exe"; then
        fail "$arch" "wide_till.exe"; continue
    fi
    # The .def exports the undecorated name; on i686 it binds to the stdcall ProcessPrng@8.
    if ! "$cc" -shared -O2 -Wl,--enable-stdcall-fixup -o "$test/bcryptprimitives.dll" \
            "$HERE/bcryptprimitives.c" "$HERE/bcryptprimitives.def" -ladvapi32; then
        fail "$arch" "bcryptprimitives.dll stand-in"; continue
    fi
    cp "$out/klarna_pos.dll" "$test/"
    built="klarna_pos.dll, .def, .lib, .dll.a and headers in ${out#"$ROOT"/}; exports undecorated; import libraries link"

    if [ ! -x "$wine" ] || ! "$wine" --version >/dev/null 2>&1; then
        if [ "$arch" = x86 ]; then
            why="no 32-bit wine ($wine, Debian package wine32:i386: dpkg --add-architecture i386 && apt-get update && apt-get install wine32:i386; where Debian's i386 package index fails to download, apt cannot install it)"
        else
            why="no $wine (apt-get install wine64)"
        fi
        results+=("$arch: built and checked ($built); NOT RUN under wine: $why")
        continue
    fi
    if [ -z "$SIM_PID" ] && ! start_sim; then
        fail "$arch" "the simulator did not start"; continue
    fi
    export WINEPREFIX=$TARGET_DIR/windows/wineprefix-$arch WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" WINEARCH=$winearch
    export KLARNA_API_URL=$SIM_URL KLARNA_USERNAME=test_user KLARNA_PASSWORD=test_password
    echo "=== $arch: under $("$wine" --version) against $SIM_URL" >&2
    run() { # NAME ARGS...: runs test-<arch>/NAME.exe under wine, output in NAME.out / NAME.err
        local name=$1; shift
        (cd "$test" && timeout 300 "$wine" "$name.exe" "$@" > "$name.out" 2> "$name.err")
        local rc=$?
        echo "--- $name.exe exited $rc" >&2
        tr -d '\r' < "$test/$name.out" | sed 's/^/    /' >&2
        return $rc
    }
    ran=()
    run link_check && ran+=("link_check.exe (lld, klarna_pos.lib) exit 0") || fail "$arch" "link_check.exe under wine"
    run link_check_mingw && ran+=("link_check_mingw.exe exit 0") || fail "$arch" "link_check_mingw.exe under wine"
    if run till "$ROOT/examples/orders/se_coffee.json" --timeout-ms 60000 \
            && grep -q '^status=COMPLETED' "$test/till.out"; then
        ran+=("till.exe paid (COMPLETED)")
    else
        fail "$arch" "till.exe under wine (see $test/till.err)"
    fi
    if run wide_till; then
        out_of() { tr -d '\r' < "$test/wide_till.out" | sed -n "s/^$1=//p" | head -1; }
        session=$(out_of session_id)
        order=$(out_of order_id)
        sim_session=$(curl -s "$SIM_URL/_sim/sessions/$session")
        sim_order=$(curl -s "$SIM_URL/_sim/orders/$order")
        if echo "$sim_session" | grep -q '"name":"Tröja, Größe M"' \
                && echo "$sim_session" | grep -q '"merchant_reference2":"Åsa"' \
                && echo "$sim_order" | grep -q '"description":"Återköp Åsa"' \
                && echo "$sim_order" | grep -q '"refunded_amount":4500' \
                && [ "$(echo "$sim_order" | grep -o '"refund_id"' | wc -l)" -eq 1 ]; then
            echo "# $arch: the simulator recorded \"Tröja, Größe M\", \"Åsa\" and one refund of 4500 \"Återköp Åsa\" for order $order" >&2
            ran+=("wide_till.exe paid, captured and refunded through the _w layer, non-ASCII intact")
        else
            fail "$arch" "the simulator's records of wide_till.exe's sale: $sim_session $sim_order"
        fi
    else
        fail "$arch" "wide_till.exe under wine (see $test/wide_till.err)"
    fi
    results+=("$arch: $built; under wine: $(IFS=';'; echo "${ran[*]}" | sed 's/;/; /g')")
done
echo "=== summary" >&2
printf '%s\n' "${results[@]}"
exit $status
