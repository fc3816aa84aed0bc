"""The build step pyproject.toml cannot express: compile the Rust library and ship it.

``build_py`` runs ``cargo build --release --lib -p klarna-pos`` in the repository root (two levels
above this file, or ``KLARNA_POS_SOURCE_DIR``), honouring ``CARGO_TARGET_DIR``, and copies the
shared library next to the package's modules, where ``klarna_pos._native`` loads it. The wheel is
tagged for the platform (the library is native code) but for any Python 3 (ctypes needs no
Python ABI): ``py3-none-<platform>``.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py
from setuptools.command.bdist_wheel import bdist_wheel

HERE = Path(__file__).resolve().parent

if sys.platform == "win32":
    LIBRARY = "klarna_pos.dll"
elif sys.platform == "darwin":
    LIBRARY = "libklarna_pos.dylib"
else:
    LIBRARY = "libklarna_pos.so"


def repository_root() -> Path:
    """The checkout holding the library's Cargo.toml."""
    root = Path(os.environ.get("KLARNA_POS_SOURCE_DIR") or HERE.parents[1]).resolve()
    manifest = root / "Cargo.toml"
    if not manifest.is_file() or 'name = "klarna-pos"' not in manifest.read_text("utf-8"):
        raise SystemExit(
            "klarna-pos: the Rust sources were not found at {} (build the package from a checkout "
            "of the repository, or set KLARNA_POS_SOURCE_DIR to one)".format(root)
        )
    return root


def build_library() -> Path:
    """Compiles the library in release mode and returns the path of the shared library."""
    root = repository_root()
    command = ["cargo", "build", "--release", "--lib", "-p", "klarna-pos"]
    print("klarna-pos: " + " ".join(command), flush=True)
    try:
        subprocess.run(command, cwd=str(root), check=True)
    except FileNotFoundError:
        raise SystemExit("klarna-pos: cargo is needed to build the library (https://rustup.rs)")
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
    """A wheel that holds native code: not pure, but independent of the Python version."""

    def get_tag(self):
        _, _, platform = super().get_tag()
        return "py3", "none", platform


setup(
    version=cargo_version(),
    distclass=NativeDistribution,
    cmdclass={"build_py": BuildWithLibrary, "bdist_wheel": PlatformWheel},
)
