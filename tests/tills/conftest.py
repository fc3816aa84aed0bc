"""Fixtures for the till command-line contract: every till (the C one compiled here with gcc, the
C++ one with g++, the Python one run with this interpreter, the .NET one compiled with Mono's mcs
and run on mono, the Java one compiled with javac against JNA) and a fresh simulator per test."""

import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bindings" / "python" / "tests"))

from klarna_sim import ROOT, Simulator, build, library_path, profile_dir  # noqa: E402

# Generous bounds for one till run; nothing waits this long unless something is broken.
LINE_TIMEOUT = 30.0
EXIT_TIMEOUT = 60.0


@pytest.fixture(scope="session")
def c_till(tmp_path_factory) -> List[str]:
    """examples/c/till.c compiled with the reference flags (warnings are errors)."""
    build()
    out_dir = tmp_path_factory.mktemp("c_till")
    exe = out_dir / "till"
    subprocess.run(
        [
            os.environ.get("CC", "gcc"),
            "-std=c99",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-I",
            str(ROOT / "include"),
            str(ROOT / "examples/c/till.c"),
            "-o",
            str(exe),
            "-L",
            str(profile_dir()),
            "-lklarna_pos",
            "-Wl,-rpath," + str(profile_dir()),
        ],
        check=True,
    )
    return [str(exe)]


@pytest.fixture(scope="session")
def cpp_till(tmp_path_factory) -> List[str]:
    """examples/cpp/till.cpp over include/klarna_pos.hpp, C++11, warnings are errors."""
    build()
    exe = tmp_path_factory.mktemp("cpp_till") / "till"
    subprocess.run(
        [
            os.environ.get("CXX", "g++"),
            "-std=c++11",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-I",
            str(ROOT / "include"),
            str(ROOT / "examples/cpp/till.cpp"),
            "-o",
            str(exe),
            "-L",
            str(profile_dir()),
            "-lklarna_pos",
            "-Wl,-rpath," + str(profile_dir()),
        ],
        check=True,
    )
    return [str(exe)]


@pytest.fixture(scope="session")
def python_till() -> List[str]:
    build()
    return [sys.executable, str(ROOT / "examples/python/till.py")]


@pytest.fixture(scope="session")
def dotnet_till(tmp_path_factory) -> List[str]:
    """examples/dotnet/Till.cs compiled with mcs against KlarnaPos.dll; the library is copied
    next to the assemblies, where mono looks for [DllImport("klarna_pos")] first."""
    build()
    out = tmp_path_factory.mktemp("dotnet_till")
    subprocess.run(
        [str(ROOT / "bindings/dotnet/build.sh"), str(out), str(library_path())], check=True
    )
    subprocess.run(
        [
            "mcs",
            "-langversion:7",
            "-warnaserror+",
            "-nologo",
            "-r:" + str(out / "KlarnaPos.dll"),
            "-out:" + str(out / "Till.exe"),
            str(ROOT / "examples/dotnet/Till.cs"),
        ],
        check=True,
    )
    return ["mono", str(out / "Till.exe")]


@pytest.fixture(scope="session")
def java_till(tmp_path_factory) -> List[str]:
    """examples/java/Till.java compiled with javac (warnings are errors) against the binding's
    jar from bindings/java/build.sh and JNA; the library comes from KLARNA_POS_LIBRARY."""
    build()
    out = tmp_path_factory.mktemp("java_till")
    subprocess.run([str(ROOT / "bindings/java/build.sh"), str(out)], check=True)
    jna = os.environ.get("JNA_JAR", "/usr/share/java/jna.jar")
    classpath = os.pathsep.join([jna, str(out / "klarna-pos.jar"), str(out)])
    subprocess.run(
        [
            "javac",
            "-Xlint:all",
            "-Werror",
            "-encoding",
            "UTF-8",
            "-cp",
            classpath,
            "-d",
            str(out),
            str(ROOT / "examples/java/Till.java"),
        ],
        check=True,
    )
    return ["java", "-cp", classpath, "Till"]


@pytest.fixture(params=["c", "cpp", "python", "dotnet", "java"])
def till(request) -> List[str]:
    """The command that starts the till under test; every contract test runs for each."""
    return request.getfixturevalue(request.param + "_till")


@pytest.fixture
def sim():
    simulator = Simulator(customer="manual")
    yield simulator
    simulator.close()


@pytest.fixture
def auto_sim():
    """A simulator whose customer scans 2 s and approves 4 s after the till's first poll: with
    the till's 1 s polling, each status is seen at least once."""
    simulator = Simulator(customer="auto", auto_delay_ms=4000)
    yield simulator
    simulator.close()


class TillRun:
    """A running till whose stdout is read line by line as it appears."""

    def __init__(self, command: List[str], args: List[str], env: Dict[str, str]) -> None:
        env = dict(
            env, KLARNA_POS_LIBRARY=os.environ.get("KLARNA_POS_LIBRARY", str(library_path()))
        )
        self.process = subprocess.Popen(
            command + args,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        self.lines: List[str] = []
        self._queue: "queue.Queue[Optional[str]]" = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def next_line(self, timeout: float = LINE_TIMEOUT) -> Optional[str]:
        """The next stdout line, or None at the end of the output."""
        try:
            line = self._queue.get(timeout=timeout)
        except queue.Empty:
            self.kill()
            raise AssertionError("no output within {} s; so far: {}".format(timeout, self.lines))
        if line is not None:
            self.lines.append(line)
        return line

    def expect(self, wanted: str, timeout: float = LINE_TIMEOUT) -> str:
        """Reads lines until one starts with `wanted` (e.g. "status=DISTRIBUTED")."""
        deadline = time.monotonic() + timeout
        while True:
            line = self.next_line(max(0.0, deadline - time.monotonic()))
            if line is None:
                raise AssertionError("output ended before {!r}: {}".format(wanted, self.lines))
            if line.startswith(wanted):
                return line

    def finish(self, timeout: float = EXIT_TIMEOUT) -> int:
        """Reads the rest of the output and returns the exit status."""
        deadline = time.monotonic() + timeout
        while self.next_line(max(0.0, deadline - time.monotonic())) is not None:
            pass
        try:
            code = self.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("the till did not exit; output: {}".format(self.lines))
        self.stderr = self.process.stderr.read() if self.process.stderr else ""
        return code

    def value(self, key: str) -> str:
        """The value of the first `key=` line printed so far."""
        for line in self.lines:
            if line.startswith(key + "="):
                return line[len(key) + 1 :]
        raise AssertionError("no {}= line in {}".format(key, self.lines))

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def run_till(till):
    """Starts the till under test: run_till(args, env) -> TillRun."""
    started: List[TillRun] = []

    def start(args: List[str], env: Dict[str, str]) -> TillRun:
        run = TillRun(till, args, env)
        started.append(run)
        return run

    yield start
    for run in started:
        run.kill()
        for stream in (run.process.stdout, run.process.stderr):
            if stream:
                stream.close()
