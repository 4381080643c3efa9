"""Every python snippet in the docs is either pasted into the as-installed project or a fragment."""

from pathlib import Path

import pytest

from tests.installed import doc_snippets
from tests.installed.__main__ import REPO


def test_every_python_snippet_is_marked():
    files = doc_snippets.project_files(REPO)
    assert {"mysite/settings.py", "mysite/urls.py", "myapp/tasks.py", "pytest.ini"} <= set(files)
    assert 'INSTALLED_APPS = [*INSTALLED_APPS, "tasks_google"]' in files["mysite/settings.py"]


def test_an_unmarked_snippet_is_refused(tmp_path: Path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text("Text\n\n```python\nprint('hi')\n```\n")
    with pytest.raises(doc_snippets.UnmarkedSnippet, match=r"README\.md:3"):
        doc_snippets.project_files(tmp_path)


def test_a_snippet_in_two_documents_is_pasted_once(tmp_path: Path):
    block = "<!-- as-installed: a.py -->\n```python\nX = [..., 1]\n```\n"
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text(block)
    (tmp_path / "docs" / "b.md").write_text(block + "\n<!-- fragment -->\n```python\nf()\n```\n")
    assert doc_snippets.project_files(tmp_path)["a.py"].count("X = [*X, 1]") == 1
