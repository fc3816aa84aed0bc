"""The build step pyproject.toml cannot express: compile the Rust library and ship it.

``build_py`` runs ``cargo rustc --release --lib -p klarna-pos --crate-type cdylib,staticlib``
(the shipped build: see Cargo.toml's release profile) in the Rust sources (the
directory ``rust/`` of an sdist, else the repository root two levels above this file, or
``KLARNA_POS_SOURCE_DIR``), honouring ``CARGO_TARGET_DIR``, and copies the shared library next to
the package's modules, where ``klarna_pos._native`` loads it. The wheel is tagged for the
platform (the library is native code) but for any Python 3 (ctypes needs no Python ABI):
``py3-none-<platform>``.

The release wheels (tests/packaging/dist.sh) are built from a library built beforehand:
``KLARNA_POS_PREBUILT_LIBRARY`` names it (the glibc 2.17 ``libklarna_pos.so``, or a Windows
``klarna_pos.dll``; cargo is then not run) and ``KLARNA_POS_WHEEL_PLATFORM`` gives the wheel's
platform tag (``manylinux_2_17_x86_64.manylinux2014_x86_64``, ``win_amd64``, ``win32``).
The sdist carries the crate (``cargo package``) in ``rust/``, so that it builds wherever cargo is.
"""

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py
from setuptools.command.bdist_wheel import bdist_wheel
from setuptools.command.sdist import sdist

HERE = Path(__file__).resolve().parent
PREBUILT = os.environ.get("KLARNA_POS_PREBUILT_LIBRARY")
PLATFORM = os.environ.get("KLARNA_POS_WHEEL_PLATFORM")
# Where an sdist keeps the crate's sources.
SDIST_SOURCES = "rust"

if PREBUILT:
    LIBRARY = Path(PREBUILT).name
elif sys.platform == "win32":
    LIBRARY = "klarna_pos.dll"
elif sys.platform == "darwin":
    LIBRARY = "libklarna_pos.dylib"
else:
    LIBRARY = "libklarna_pos.so"

NEEDS_CARGO = (
    "klarna-pos: building this package from source compiles the klarna_pos library, which needs "
    "a Rust toolchain: cargo and rustc 1.89 or newer on PATH (https://rustup.rs), and access to "
    "crates.io or a vendored copy of the crates. On Linux x86_64 (glibc 2.17 or newer) and Windows "
    "x86/x64 a prebuilt wheel needs none of this: pip install --only-binary :all: klarna-pos"
)


def repository_root() -> Path:
    """The sources holding the library's Cargo.toml: an sdist's rust/, or the checkout."""
    bundled = HERE / SDIST_SOURCES
    default = bundled if (bundled / "Cargo.toml").is_file() else HERE.parents[1]
    root = Path(os.environ.get("KLARNA_POS_SOURCE_DIR") or default).resolve()
    manifest = root / "Cargo.toml"
    if not manifest.is_file() or 'name = "klarna-pos"' not in manifest.read_text("utf-8"):
        raise SystemExit(
            "klarna-pos: the Rust sources were not found at {} (build the package from a checkout "
            "of the repository or from its sdist, or set KLARNA_POS_SOURCE_DIR to one)".format(root)
        )
    return root


def build_library() -> Path:
    """Compiles the library in release mode and returns the path of the shared library (or
    the prebuilt one KLARNA_POS_PREBUILT_LIBRARY names)."""
    if PREBUILT:
        library = Path(PREBUILT)
        if not library.is_file():
            raise SystemExit("klarna-pos: KLARNA_POS_PREBUILT_LIBRARY={} is no file".format(PREBUILT))
        return library
    root = repository_root()
    if shutil.which("cargo") is None:
        raise SystemExit(NEEDS_CARGO)
    command = ["cargo", "rustc", "--release", "--lib", "-p", "klarna-pos", "--crate-type", "cdylib,staticlib"]
    print("klarna-pos: " + " ".join(command), flush=True)
    try:
        subprocess.run(command, cwd=str(root), check=True)
    except FileNotFoundError:
        raise SystemExit(NEEDS_CARGO)
    except subprocess.CalledProcessError as e:
        raise SystemExit("klarna-pos: cargo build failed with status {}".format(e.returncode))
    # cargo reads a relative CARGO_TARGET_DIR from its working directory: the root.
    target = root / os.environ.get("CARGO_TARGET_DIR", "target")
    library = target / "release" / LIBRARY
    if not library.is_file():
        raise SystemExit("klarna-pos: cargo succeeded but {} is missing".format(library))
    return library


def cargo_version() -> str:
    """The library's version from Cargo.toml's [package] table: the package's version too."""
    section = ""
    for line in (repository_root() / "Cargo.toml").read_text("utf-8").splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line
        elif section == "[package]" and line.partition("=")[0].strip() == "version":
            return line.partition("=")[2].strip().strip('"')
    raise SystemExit("klarna-pos: Cargo.toml has no [package] version")


class BuildWithLibrary(build_py):
    """build_py that also puts the freshly built native library into the package, with the
    file VERSION (Cargo.toml's version) that klarna_pos._native compares with the library's."""

    def run(self) -> None:
        super().run()
        library = build_library()
        destination = Path(self.build_lib) / "klarna_pos" / LIBRARY
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(str(library), str(destination))
        os.chmod(str(destination), 0o755)
        (destination.parent / "VERSION").write_text(cargo_version() + "\n", "utf-8")

    def get_outputs(self, include_bytecode: bool = True):
        return super().get_outputs(include_bytecode) + [
            os.path.join(self.build_lib, "klarna_pos", LIBRARY),
            os.path.join(self.build_lib, "klarna_pos", "VERSION"),
        ]


class NativeDistribution(Distribution):
    """Holds native code, although not as a Python extension module: installed to platlib."""

    def has_ext_modules(self) -> bool:
        return True


class PlatformWheel(bdist_wheel):
    """A wheel that holds native code: not pure, but independent of the Python version; its
    platform tag is KLARNA_POS_WHEEL_PLATFORM's when set (a library built for another platform)."""

    def get_tag(self):
        _, _, platform = super().get_tag()
        return "py3", "none", PLATFORM or platform


class SdistWithCrate(sdist):
    """An sdist that carries the crate's sources (as `cargo package` selects them, with its
    normalised Cargo.toml and Cargo.lock) in rust/, so that it builds outside the checkout."""

    def make_release_tree(self, base_dir, files) -> None:
        super().make_release_tree(base_dir, files)
        if shutil.which("cargo") is None:
            raise SystemExit("klarna-pos: making the sdist runs `cargo package`: cargo is needed")
        root = repository_root()
        with tempfile.TemporaryDirectory() as scratch:
            subprocess.run(
                ["cargo", "package", "--quiet", "--no-verify", "--allow-dirty", "-p", "klarna-pos",
                 "--target-dir", scratch],
                cwd=str(root),
                check=True,
            )
            crate = Path(scratch) / "package" / "klarna-pos-{}.crate".format(cargo_version())
            with tarfile.open(str(crate)) as archive:
                archive.extractall(scratch)
            shutil.copytree(
                str(Path(scratch) / crate.name[: -len(".crate")]),
                os.path.join(base_dir, SDIST_SOURCES),
                ignore=shutil.ignore_patterns("bindings"),
            )


setup(
    version=cargo_version(),
    distclass=NativeDistribution,
    cmdclass={"build_py": BuildWithLibrary, "bdist_wheel": PlatformWheel, "sdist": SdistWithCrate},
)
