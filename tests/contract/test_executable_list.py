"""The executable-attachment list: every extension the README names is refused, and the
README names every one the code refuses (including those a review found passing)."""

from __future__ import annotations

import re

import pytest

from mailpass_common.messages.attachments import (
    EXECUTABLE_EXTENSIONS,
    executable_sign,
    sanitized_filename,
)
from tests.support.readme import readme_text

FOUND_PASSING = [
    "url", "scf", "settingcontent-ms", "appref-ms", "application", "inf", "msu", "vhdx",
    "website", "xbap", "ps1xml", "pyw", "gadget",
]  # fmt: skip


def _readme_list() -> set[str]:
    start = readme_text().index("- **Executable attachments are refused**")
    item = readme_text()[start:].split("\n- ", 1)[0]
    return set(re.findall(r"`\.([a-z0-9_-]+)`", item))


def test_the_readme_states_exactly_the_list_the_code_refuses() -> None:
    assert _readme_list() == set(EXECUTABLE_EXTENSIONS)
    # The attachments section's examples are in it too.
    section = readme_text().split("## Attachments and inline images", 1)[1].split("\n## ", 1)[0]
    examples = set(re.findall(r"`\.([a-z0-9_-]+)`", section))
    assert examples and examples <= set(EXECUTABLE_EXTENSIONS)


@pytest.mark.parametrize("extension", FOUND_PASSING)
def test_the_extensions_a_review_found_passing_are_refused(extension: str) -> None:
    for name in (f"invoice.{extension}", f"Invoice.PDF.{extension.upper()}", f"x.{extension}. "):
        assert executable_sign(sanitized_filename(name), "application/octet-stream", b"%PDF")
