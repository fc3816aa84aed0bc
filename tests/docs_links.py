#!/usr/bin/env python3
"""The documentation check of tests/run.

Fails when a relative link in README.md, CONTRIBUTING.md or docs/*.md points to a file that does
not exist, or to a #anchor that no heading of the linked Markdown file makes, when README.md
has more than 200 lines, and when README.md's C example has more than 25 lines or does not
compile against the committed header (gcc -std=c89 -pedantic -Wall -Wextra -Werror; skipped with
a note when gcc is missing). Links inside code blocks and code spans are not links. Before
checking the repository it checks itself on a small broken tree, so a check that cannot fail
never passes.

    python3 tests/docs_links.py [ROOT]      ROOT defaults to the repository
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

README_MAX_LINES = 200
C_EXAMPLE_MAX_LINES = 25

LINK = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REF_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
FENCE = re.compile(r"^\s{0,3}(```|~~~)")
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")


def documents(root):
    """The Markdown files whose links are checked, relative to root."""
    files = [f for f in ("README.md", "CONTRIBUTING.md") if os.path.isfile(os.path.join(root, f))]
    docs = os.path.join(root, "docs")
    if os.path.isdir(docs):
        files += sorted(
            os.path.join("docs", f) for f in os.listdir(docs) if f.endswith(".md")
        )
    return files


def prose_lines(text):
    """(line number, line) outside fenced code blocks, with code spans blanked."""
    fence = None
    for number, line in enumerate(text.split("\n"), 1):
        m = FENCE.match(line)
        if fence is None and m:
            fence = m.group(1)
            continue
        if fence is not None:
            if line.strip().startswith(fence):
                fence = None
            continue
        yield number, CODE_SPAN.sub(lambda s: " " * len(s.group(0)), line)


def slug(heading):
    """The anchor GitHub makes for a heading."""
    text = re.sub(r"<[^>]+>", "", heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = text.strip().lower()
    text = "".join(c for c in text if c.isalnum() or c in " -_")
    return text.replace(" ", "-")


def anchors(path, cache={}):
    if path not in cache:
        seen = {}
        found = set()
        with open(path, encoding="utf-8") as f:
            text = f.read()
        fence = None
        for line in text.split("\n"):
            m = FENCE.match(line)
            if fence is None and m:
                fence = m.group(1)
                continue
            if fence is not None:
                if line.strip().startswith(fence):
                    fence = None
                continue
            h = HEADING.match(line)
            if h:
                base = slug(h.group(2))
                n = seen.get(base, 0)
                seen[base] = n + 1
                found.add(base if n == 0 else "%s-%d" % (base, n))
        cache[path] = found
    return cache[path]


def problems(root):
    """Every broken link and limit, as 'file:line: message' strings; and the links checked."""
    out = []
    checked = 0
    for rel in documents(root):
        path = os.path.join(root, rel)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        if rel == "README.md":
            lines = text.count("\n") + (0 if text.endswith("\n") else 1)
            if lines > README_MAX_LINES:
                out.append("README.md: %d lines, more than %d" % (lines, README_MAX_LINES))
        for number, line in prose_lines(text):
            targets = [m.group(1) for m in LINK.finditer(line)]
            ref = REF_DEF.match(line)
            if ref:
                targets.append(ref.group(1))
            for target in targets:
                if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target):
                    continue  # http:, https:, mailto: ...
                checked += 1
                file_part, _, anchor = target.partition("#")
                dest = (
                    os.path.normpath(os.path.join(os.path.dirname(path), file_part))
                    if file_part
                    else path
                )
                where = "%s:%d: %s" % (rel, number, target)
                if not os.path.exists(dest):
                    out.append("%s: no such file %s" % (where, os.path.relpath(dest, root)))
                elif anchor and dest.endswith(".md") and anchor not in anchors(dest):
                    out.append(
                        "%s: no heading makes #%s in %s"
                        % (where, anchor, os.path.relpath(dest, root))
                    )
    return out, checked


def c_example(root):
    """The first C code block of README.md, or None."""
    with open(os.path.join(root, "README.md"), encoding="utf-8") as f:
        m = re.search(r"^```c\n(.*?)^```", f.read(), re.S | re.M)
    return m.group(1) if m else None


def c_example_problems(root):
    """README.md's C example is short and compiles against the committed header."""
    code = c_example(root)
    if code is None:
        return ["README.md: no C example (a ```c block)"]
    out = []
    if code.count("\n") > C_EXAMPLE_MAX_LINES:
        out.append(
            "README.md: the C example has %d lines, more than %d"
            % (code.count("\n"), C_EXAMPLE_MAX_LINES)
        )
    if shutil.which("gcc") is None:
        print("README.md's C example not compiled: gcc is not installed")
        return out
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "readme_example.c")
        with open(src, "w", encoding="utf-8") as f:
            f.write(code)
        cc = subprocess.run(
            ["gcc", "-std=c89", "-pedantic", "-Wall", "-Wextra", "-Werror", "-fsyntax-only",
             "-I", os.path.join(root, "include"), src],
            capture_output=True,
            text=True,
        )
        if cc.returncode != 0:
            out.append("README.md: the C example does not compile:\n" + cc.stderr.strip())
    return out


def self_test():
    """The check finds a missing file, a missing anchor and a long README, and accepts the rest."""
    with tempfile.TemporaryDirectory() as root:
        os.mkdir(os.path.join(root, "docs"))
        with open(os.path.join(root, "README.md"), "w") as f:
            f.write("[ok](docs/a.md#the-c-api) [gone](docs/gone.md) [web](https://x.invalid)\n")
            f.write("`[code](nowhere.md)`\n```\n[fenced](nowhere.md)\n```\n")
            f.write("x\n" * README_MAX_LINES)
        with open(os.path.join(root, "docs", "a.md"), "w") as f:
            f.write("# The C API\n[back](../README.md) [bad anchor](#nothing-here)\n")
        found, _ = problems(root)
        expected = ["docs/gone.md", "more than", "#nothing-here"]
        missed = [e for e in expected if not any(e in p for p in found)]
        if missed or len(found) != len(expected):
            print("docs link check self-test failed: expected %s, got %s" % (expected, found))
            return False
    return True


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    if not self_test():
        return 1
    found, checked = problems(os.path.abspath(root))
    found += c_example_problems(os.path.abspath(root))
    for p in found:
        print(p)
    print(
        "docs links: %d relative links in %d files checked, %d problems"
        % (checked, len(documents(root)), len(found))
    )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
