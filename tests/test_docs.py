"""The README and docs/: every relative link resolves, nothing points outside
the repository, and the README's test command is the one CI runs."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
TEST_COMMAND = (
    "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]' && .venv/bin/python -m pytest"
)


def anchors(page: Path) -> set[str]:
    """GitHub's anchors for a page's headings: lower case, punctuation dropped,
    spaces as hyphens."""
    found = set()
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            found.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return found


def resolves(page: Path, target: str) -> bool:
    """A relative link resolves to a file of the repository, and to a heading
    of it when it names one."""
    path, _, anchor = target.partition("#")
    resolved = (page.parent / path).resolve() if path else page
    if not resolved.is_relative_to(ROOT) or not resolved.exists():
        return False
    return not anchor or resolved.suffix != ".md" or anchor in anchors(resolved)


def broken_links(page: Path) -> list[str]:
    targets = LINK.findall(page.read_text(encoding="utf-8"))
    # Absolute links (https:, mailto:) are not ours to check.
    return [t for t in targets if not re.match(r"[a-z]+:", t) and not resolves(page, t)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves_inside_the_repository(page: Path) -> None:
    assert broken_links(page) == []


def test_nothing_points_outside_the_repository() -> None:
    try:
        listed = subprocess.run(
            ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    outside = re.compile(r"\.\./shared|SPEC\.md")
    hits = [
        name
        for name in listed
        if name != "tests/test_docs.py"
        and (ROOT / name).is_file()
        and outside.search((ROOT / name).read_text(encoding="utf-8", errors="replace"))
    ]
    assert hits == []


def test_the_readme_test_command_is_the_one_ci_runs() -> None:
    assert TEST_COMMAND in (ROOT / "README.md").read_text(encoding="utf-8")
    assert TEST_COMMAND in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_the_readme_layout_names_every_module() -> None:
    """The layout table is complete: a module added without a word in the README fails here."""
    readme = (ROOT / "README.md").read_text()
    layout = readme[readme.index("## Layout") : readme.index("## Libraries")]
    named = set(re.findall(r"`([a-z0-9_]+)/?`", layout))
    modules = {
        path.stem if path.name != "__init__.py" else path.parent.name
        for path in (ROOT / "redirector").rglob("*.py")
    }
    assert sorted(modules - named - {"redirector"}) == []
