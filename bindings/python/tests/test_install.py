"""`pip install ./bindings/python` into a new virtual environment outside the checkout, and
`pip wheel`: the build compiles the library in release mode and ships it in the package.

Slow the first time (a release build of the library); the cargo target directory is shared
with the rest of the tests, so later runs only relink what changed.
"""

import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from klarna_sim import ROOT, TEST_PASSWORD, TEST_USER, target_dir

HERE = Path(__file__).resolve().parent
PACKAGE = ROOT / "bindings" / "python"
BUILD_TIME_LIMIT = 1800  # a cold release build with LTO on a small machine


def clean_env():
    """The environment of a user who has nothing from this checkout set up."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("KLARNA_POS_LIBRARY", "PYTHONPATH") and not k.startswith("PYTEST_")
    }
    env["CARGO_TARGET_DIR"] = str(target_dir().resolve())
    return env


def pip(python, *args, cwd):
    done = subprocess.run(
        [str(python), "-m", "pip", "--disable-pip-version-check", *args],
        cwd=str(cwd),
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=BUILD_TIME_LIMIT,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The python of a new virtual environment with the package installed by pip."""
    home = tmp_path_factory.mktemp("venv")
    assert ROOT not in home.parents
    venv.EnvBuilder(with_pip=True).create(str(home / "env"))
    python = home / "env" / "bin" / "python"
    pip(python, "install", "--quiet", str(PACKAGE), cwd=home)
    return python


def test_installed_package_ships_its_own_release_library(installed):
    done = subprocess.run(
        [
            str(installed),
            "-c",
            "import klarna_pos, klarna_pos._native as n; print(n.lib._name); "
            "print(klarna_pos.__version__)",
        ],
        cwd=str(installed.parent),
        env=clean_env(),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    loaded, version = done.stdout.split()
    package_dir = Path(loaded).parent
    assert package_dir.name == "klarna_pos" and "site-packages" in package_dir.parts
    assert (package_dir / "py.typed").is_file()
    assert version == klarna_pos_version()


def klarna_pos_version():
    for line in (ROOT / "Cargo.toml").read_text().splitlines():
        if line.startswith("version = "):
            return line.split('"')[1]
    raise AssertionError("no version in Cargo.toml")


def test_installed_package_pays_and_raises_against_the_simulator(installed, sim):
    done = subprocess.run(
        [
            str(installed),
            str(HERE / "installed_scenario.py"),
            sim.url,
            TEST_USER,
            TEST_PASSWORD,
            str(ROOT / "tests/data/valid_orders/se_vat_discount.json"),
            str(ROOT / "tests/data/invalid_orders.json"),
        ],
        cwd=str(installed.parent),
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    print(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr
    checks = [line for line in done.stdout.splitlines() if line.startswith("ok - ")]
    assert [c.split(":")[0] for c in checks] == [
        "ok - library loaded from the installed package",
        "ok - full payment",
        "ok - BadRequest with field " + checks[2].rsplit(" ", 1)[-1],
        "ok - PermissionDenied",
        "ok - Timeout",
        "ok - cancel from a second thread",
    ]


def test_wheel_is_platform_specific_and_holds_the_library(tmp_path):
    pip(
        sys.executable,
        "wheel",
        "--quiet",
        "--no-deps",
        "-w",
        str(tmp_path),
        str(PACKAGE),
        cwd=tmp_path,
    )
    wheels = list(tmp_path.glob("klarna_pos-*.whl"))
    assert len(wheels) == 1, wheels
    name = wheels[0].name
    assert name.startswith("klarna_pos-{}-py3-none-".format(klarna_pos_version())), name
    assert not name.endswith("-any.whl")
    with zipfile.ZipFile(str(wheels[0])) as wheel:
        names = wheel.namelist()
        metadata = wheel.read("klarna_pos-{}.dist-info/WHEEL".format(klarna_pos_version())).decode()
    assert "klarna_pos/libklarna_pos.so" in names
    assert "klarna_pos/py.typed" in names
    assert "Root-Is-Purelib: false" in metadata
