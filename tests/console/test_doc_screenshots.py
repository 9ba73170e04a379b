"""The pictures the docs show are the browser tests' screenshots (`make screenshots`)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.console.browser import DOC_SCREENSHOTS, DOCS

ROOT = DOCS.parent
TESTS = Path(__file__).parent


def test_every_picture_in_the_docs_is_a_browser_tests_screenshot() -> None:
    shown = set()
    for doc in [ROOT / "README.md", *DOCS.glob("*.md")]:
        shown |= {
            Path(p).name for p in re.findall(r"\]\((?:\.\./)?docs/([^)]+\.png)\)", doc.read_text())
        }
        shown |= {p for p in re.findall(r"\]\(([^)/]+\.png)\)", doc.read_text())}
    pictures = {p.name for p in DOCS.glob("*.png")}
    assert shown <= pictures, f"the docs show pictures that are missing: {shown - pictures}"
    assert pictures <= set(DOC_SCREENSHOTS.values()), (
        f"pictures in docs/ no browser test takes: {pictures - set(DOC_SCREENSHOTS.values())}"
    )


def test_each_screenshot_named_for_the_docs_is_taken_by_a_test() -> None:
    sources = "\n".join(p.read_text() for p in TESTS.glob("test_*.py"))
    for name in DOC_SCREENSHOTS:
        assert f'"{name}"' in sources, f"no browser test takes the screenshot {name}"
