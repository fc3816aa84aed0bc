#!/usr/bin/env bash
# Checks an unpacked KlarnaPos .nupkg (or its tree from layout.sh) as .NET users meet it:
#
#   tests/packaging/check_dotnet.sh PACKAGE_DIR [WORK_DIR]
#
# The files (both lib/ assemblies, the native libraries under runtimes/, the licences, the
# nuspec's version, Cargo.toml's); then examples/dotnet/Till.cs as a .NET Framework 4.5 project
# that references lib/net45/KlarnaPos.dll and imports build/net45/KlarnaPos.targets
# (tests/packaging/net45_till), built with xbuild for x86, x64, AnyCPU with Prefer32Bit and
# AnyCPU: each output must hold the win-x86 and/or win-x64 klarna_pos.dll the targets promise. The
# Till.exe built so takes a payment from the simulator on mono, with the package's
# runtimes/linux-x64 library next to it.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/packaging/lib.sh
pkg=$(cd "${1:?usage: check_dotnet.sh PACKAGE_DIR [WORK_DIR]}" && pwd)
work=${2:-$KPOS_TARGET_DIR/dotnet-package-check}
rm -rf "$work"
mkdir -p "$work"

for f in LICENSE-MIT LICENSE-APACHE KlarnaPos.nuspec lib/net45/KlarnaPos.dll lib/netstandard2.0/KlarnaPos.dll \
    runtimes/linux-x64/native/libklarna_pos.so runtimes/win-x64/native/klarna_pos.dll \
    runtimes/win-x86/native/klarna_pos.dll build/net45/KlarnaPos.targets; do
    [ -f "$pkg/$f" ] || fail "$f is missing from the package"
done
cmp -s "$pkg/lib/net45/KlarnaPos.dll" "$pkg/lib/netstandard2.0/KlarnaPos.dll" || fail "the two lib/ assemblies differ"
version=$(sed -n 's:.*<version>\(.*\)</version>.*:\1:p' "$pkg/KlarnaPos.nuspec")
[ "$version" = "$KPOS_VERSION" ] || fail "nuspec version '$version' is not Cargo.toml's $KPOS_VERSION"
# BindingVersion.Value, a UTF-16 constant in the assembly (build.sh writes it from Cargo.toml).
python3 -c 'import sys; sys.exit(sys.argv[2].encode("utf-16-le") not in open(sys.argv[1], "rb").read())' \
    "$pkg/lib/net45/KlarnaPos.dll" "$KPOS_VERSION" || fail "KlarnaPos.dll does not carry the binding version $KPOS_VERSION"
ok "package files: lib/net45 and lib/netstandard2.0 KlarnaPos.dll (one assembly, binding version $KPOS_VERSION), runtimes/{linux-x64,win-x64,win-x86}/native, build/net45/KlarnaPos.targets, licences; nuspec version $version"

# x86 and x64: the DLL of that architecture next to Till.exe; AnyCPU, with and without
# Prefer32Bit: both, in x86/ and x64/, for KlarnaPos.dll to load the one of the process.
for case in "x86:/p:PlatformTarget=x86" "x64:/p:PlatformTarget=x64" "both:/p:Prefer32Bit=true" "both:"; do
    arch=${case%%:*}; prop=${case#*:}
    name=${prop:-AnyCPU}; name=${name#/p:}
    out=$work/net45-${name//=/-}
    # shellcheck disable=SC2086
    xbuild /nologo /v:quiet /p:KlarnaPosPackage="$pkg" /p:OutputPath="$out/" \
        /p:BaseIntermediateOutputPath="$out/obj/" $prop tests/packaging/net45_till/Till.csproj \
        > "$out.log" 2>&1 || { cat "$out.log" >&2; fail "xbuild $name"; }
    [ -f "$out/KlarnaPos.dll" ] && [ -f "$out/Till.exe" ] || fail "xbuild $name: Till.exe or KlarnaPos.dll missing"
    if [ "$arch" = both ]; then
        cmp -s "$out/x86/klarna_pos.dll" "$pkg/runtimes/win-x86/native/klarna_pos.dll" \
            && cmp -s "$out/x64/klarna_pos.dll" "$pkg/runtimes/win-x64/native/klarna_pos.dll" \
            || fail "xbuild $name: x86/ and x64/klarna_pos.dll are not win-x86's and win-x64's"
        [ ! -e "$out/klarna_pos.dll" ] || fail "xbuild $name: a klarna_pos.dll next to Till.exe"
        ok "xbuild ($name): Till.exe, KlarnaPos.dll, x86/klarna_pos.dll and x64/klarna_pos.dll (win-x86, win-x64)"
    else
        cmp -s "$out/klarna_pos.dll" "$pkg/runtimes/win-$arch/native/klarna_pos.dll" \
            || fail "xbuild $name: the output's klarna_pos.dll is not win-$arch's"
        ok "xbuild ($name): Till.exe, KlarnaPos.dll and runtimes/win-$arch/native/klarna_pos.dll in the output"
    fi
done

start_sim "$work"
cp "$pkg/runtimes/linux-x64/native/libklarna_pos.so" "$out/"
pay_with "$work/till.out" mono "$out/Till.exe"
ok "the xbuilt Till.exe on $(mono --version | head -1 | cut -d'(' -f1)with runtimes/linux-x64/native/libklarna_pos.so paid ($(grep '^status=COMPLETED' "$work/till.out"))"
