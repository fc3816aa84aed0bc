#!/usr/bin/env bash
# Compiles the Java binding with javac against JNA (no Maven needed):
#
#   bindings/java/build.sh OUT_DIR
#
# writes OUT_DIR/klarna-pos.jar (package klarnapos). JNA comes from $JNA_JAR, else Debian's
# libjna-java (/usr/share/java/jna.jar). Run programs with both jars on the class path; the
# native library is found as docs/java.md says (system property klarnapos.library, environment
# variable KLARNA_POS_LIBRARY, or JNA's search for klarna_pos). Warnings are errors. The binding's
# version (BindingVersion.java) and pom.xml's must be Cargo.toml's [package] version: checked
# here. For a Maven build use pom.xml instead.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build.sh OUT_DIR}
jna=${JNA_JAR:-/usr/share/java/jna.jar}
[ -f "$jna" ] || { echo "build.sh: $jna not found: install libjna-java or set JNA_JAR" >&2; exit 1; }
version=$(sed -n '/^\[package\]/,/^\[/ s/^version = "\(.*\)"$/\1/p' "$here/../../Cargo.toml")
[ -n "$version" ] || { echo "build.sh: no [package] version in Cargo.toml" >&2; exit 1; }
grep -q "VALUE = \"$version\";" "$here/src/main/java/klarnapos/BindingVersion.java" ||
    { echo "build.sh: BindingVersion.java is not Cargo.toml's version $version" >&2; exit 1; }
pom_version=$(sed -n '0,/<version>/ s|.*<version>\(.*\)</version>.*|\1|p' "$here/pom.xml" | head -1)
[ "$pom_version" = "$version" ] ||
    { echo "build.sh: pom.xml's version $pom_version is not Cargo.toml's $version" >&2; exit 1; }
rm -rf "$out/classes"
mkdir -p "$out/classes"
javac -Xlint:all -Werror --release 11 -encoding UTF-8 -cp "$jna" -d "$out/classes" \
    "$here"/src/main/java/klarnapos/*.java
jar --create --file "$out/klarna-pos.jar" -C "$out/classes" .
