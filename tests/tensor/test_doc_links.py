"""Documents cite only what the repository holds: every relative Markdown link resolves, every repository path named
in backticks (in Markdown and in the code's docstrings and comments) exists, and no file names a document outside
the repository or an issue by number. Paths of files a run makes (bench/results/, output/, the setup's base folder)
and placeholders (`<device>`, `*.mp4`) are not repository paths."""
from __future__ import annotations

import os
import re
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEXT = (".md", ".py", ".js", ".toml", ".txt", ".sh", "Makefile", ".cfg")
MADE_BY_RUNS = {("bench", "results"), ("output",), ("models", "loras"), ("models", "checkpoints"), ("input",)}
LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)]*)?\)")
TICKED = re.compile(r"`([A-Za-z0-9_.\-/]+)`")
OUTSIDE = re.compile(r"\b(MODERN_MODELS|COMFY_INTERNALS|ALGORITHMS|TOY_WORLD_NOTES|STYLE)\.md\b|"
                     r"(?<![/\w])issues?\s*#?\d+\b", re.IGNORECASE)     # not …/issues/123 of another project's URL


def tracked() -> list[str]:
    """Every file git tracks ([] when git is missing or refuses the checkout: the tests skip)."""
    try:
        out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    except OSError:
        return []
    return out.stdout.split() if out.returncode == 0 else []


ALL = tracked() if os.path.isdir(os.path.join(ROOT, ".git")) else []
KNOWN = set(ALL) | {"/".join(f.split("/")[:i]) for f in ALL for i in range(1, f.count("/") + 1)}
FILES = [f for f in ALL if f.endswith(TEXT) and os.path.isfile(os.path.join(ROOT, f))]
TOP = {f.split("/")[0] for f in ALL}


def read(name):
    with open(os.path.join(ROOT, name), encoding="utf-8", errors="replace") as f:
        return f.read()


def repository_path(text: str) -> bool:
    """A path into this repository: its first folder is one of the repository's top-level ones, and it is not
    where a run writes (bench/results/, models/loras, …)."""
    parts = tuple(text.strip("/").split("/"))
    made = any(parts[:len(m)] == m for m in MADE_BY_RUNS)
    return "/" in text and parts[0] in TOP and not made and "*" not in text


def exists(name, target):
    """A tracked file or folder, from the repository root or beside the citing file (an untracked local file is
    not in a clean checkout)."""
    return any(os.path.normpath(os.path.join(base, target.rstrip("/"))) in KNOWN for base in ("", os.path.dirname(name)))


@pytest.mark.skipif(not FILES, reason="not a git checkout")
def test_every_relative_markdown_link_resolves():
    broken = [(name, m.group(1)) for name in FILES if name.endswith(".md") for m in LINK.finditer(read(name))
              if not m.group(1).startswith(("http:", "https:", "mailto:")) and not exists(name, m.group(1))]
    assert not broken, broken


@pytest.mark.skipif(not FILES, reason="not a git checkout")
def test_every_repository_path_in_backticks_exists():
    missing = [(name, t) for name in FILES for t in TICKED.findall(read(name))
               if repository_path(t) and not exists(name, t.rstrip("/"))]
    assert not missing, missing


@pytest.mark.skipif(not FILES, reason="not a git checkout")
def test_no_file_cites_a_document_outside_the_repository_or_an_issue_number():
    cited = [(name, m.group(0)) for name in FILES for m in OUTSIDE.finditer(read(name))]
    assert not cited, cited


def test_the_checks_catch_what_they_are_for(tmp_path):
    """The patterns find a broken link, a missing path and an outside citation (a check that cannot fail is none)."""
    assert LINK.findall("see [the guide](docs/no_such_guide.md#top)") == ["docs/no_such_guide.md"]
    assert not exists("README.md", "docs/no_such_guide.md")
    assert "nodes" in TOP or not FILES
    if FILES:
        assert repository_path("nodes/glue/no_such_module.py") and not exists("README.md", "nodes/glue/no_such_module.py")
        assert not repository_path("bench/results/cpu.json") and not repository_path("output/*.mp4")
        assert not repository_path("models/loras") and repository_path("workflows/no_such_workflow.json")
    spec, issue = "MODERN_MODELS" + ".md", "iss" + "ue"          # spelled apart: this file cites neither itself
    assert OUTSIDE.search(f"as {spec} says") and OUTSIDE.search(f"fixed in {issue} 17")
    assert OUTSIDE.search(f"see {issue} #17") and not OUTSIDE.search(f"https://github.com/pytorch/pytorch/{issue}s/1")
