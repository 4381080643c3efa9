"""The Python snippets of README.md and docs/*.md, as a user would paste them into a project.

Every ```python block must be preceded by one of two HTML comments (invisible once rendered):

- `<!-- as-installed: PATH -->`: the block is code a user pastes into PATH of a new project
  (`mysite/settings.py`, `myapp/tasks.py`, `tests/test_x.py`...); the "as installed" stage appends
  it there, in document order, and runs the result;
- `<!-- fragment -->`: the block shows a call or a shape, not code to paste as it is.

Blocks in other languages (an `ini` file, say) are taken when marked `as-installed`. An
unmarked python block fails the stage, so no snippet escapes being either run or owned up to.
"""

import re
from dataclasses import dataclass
from pathlib import Path

MARKER = re.compile(r"<!--\s*(as-installed:\s*(?P<path>\S+)|fragment)\s*-->")
FENCE_OPEN = "```python"
FENCE_CLOSE = "```"
#: `NAME = [..., item]`: "the existing list, plus": the ellipsis stands for NAME's current value.
ELLIPSIS_LIST = re.compile(r"^(?P<name>\w+) = \[\.\.\., ", re.MULTILINE)


@dataclass(frozen=True)
class Snippet:
    source: str  # "README.md:42"
    path: str | None  # where it goes in the project; None for a fragment
    code: str


class UnmarkedSnippet(Exception):
    """A ```python block with neither marker."""


def documents(repo: Path) -> list[Path]:
    """README.md, then docs/*.md in name order."""
    return [repo / "README.md", *sorted((repo / "docs").glob("*.md"))]


def snippets(document: Path, repo: Path) -> list[Snippet]:
    """The python blocks of one document with their markers; UnmarkedSnippet for any without."""
    found: list[Snippet] = []
    lines = document.read_text().splitlines()
    inside = False
    for number, line in enumerate(lines):
        if not line.startswith(FENCE_CLOSE) or inside:
            inside = inside and line != FENCE_CLOSE
            continue
        inside = True
        where = f"{document.relative_to(repo)}:{number + 1}"
        previous = next((x for x in reversed(lines[:number]) if x.strip()), "")
        marker = MARKER.fullmatch(previous.strip())
        if marker is None:
            if line.strip() == FENCE_OPEN:
                raise UnmarkedSnippet(
                    f"{where}: a python block needs <!-- as-installed: PATH --> or "
                    "<!-- fragment --> on the line before it"
                )
            continue
        end = lines.index(FENCE_CLOSE, number + 1)
        code = "\n".join(lines[number + 1 : end]) + "\n"
        found.append(Snippet(where, marker.group("path"), code))
    return found


def as_pasted(code: str) -> str:
    """`NAME = [..., x]` becomes `NAME = [*NAME, x]`: what "add x to the list" means."""
    return ELLIPSIS_LIST.sub(lambda m: f"{m['name']} = [*{m['name']}, ", code)


def project_files(repo: Path) -> dict[str, str]:
    """The code each marked snippet adds to the project, by path, in document order."""
    files: dict[str, str] = {}
    for document in documents(repo):
        for snippet in snippets(document, repo):
            if snippet.path is None:
                continue
            code, before = as_pasted(snippet.code), files.get(snippet.path, "")
            if code not in before:  # the same lines in two documents are pasted once
                files[snippet.path] = f"{before}\n# --- from {snippet.source}\n{code}"
    return files
