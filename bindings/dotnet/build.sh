#!/usr/bin/env bash
# Compiles the KlarnaPos assembly with Mono's mcs (C# 7, .NET Framework 4.x APIs):
#
#   bindings/dotnet/build.sh OUT_DIR [NATIVE_LIBRARY]
#
# writes OUT_DIR/KlarnaPos.dll (and its XML documentation) and, when NATIVE_LIBRARY is given
# (e.g. target/release/libklarna_pos.so), copies it next to the assembly, where Mono and .NET look
# for [DllImport("klarna_pos")] first. Otherwise the runtime searches the system's library path
# (LD_LIBRARY_PATH on Linux). Warnings are errors. For modern .NET use KlarnaPos.csproj instead.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build.sh OUT_DIR [NATIVE_LIBRARY]}
mkdir -p "$out"
mcs -langversion:7 -target:library -warnaserror+ -nologo \
    -doc:"$out/KlarnaPos.xml" -out:"$out/KlarnaPos.dll" "$here"/src/*.cs
if [ $# -ge 2 ]; then
    cp "$2" "$out/"
fi
