"""The PHP SDK (sdks/php) against the real stack: the spec's own snippet, run unchanged,
and the SDK's phpunit suite."""

from __future__ import annotations

import re

from tests.sdks.conftest import ROOT, SDKS, SdkStack, run

EXAMPLE = SDKS / "php" / "examples" / "spec-snippet.php"
# The contract, beside the repository where it is kept (absent from a lone clone).
SPEC = ROOT.parent / "shared" / "spec" / "mail-send-api.txt"


def spec_snippet() -> str:
    """The example's code after the autoloader: the spec's "PHP SDK" section."""
    return EXAMPLE.read_text().split("autoload.php';\n", 1)[1].strip()


def test_example_is_the_spec_snippet_word_for_word() -> None:
    snippet = spec_snippet()
    assert snippet.startswith("$client = new MailPass\\Client('mp_live_YOUR_KEY');")
    assert snippet.endswith("echo $result['data']['message_id'];")
    spec = SPEC.read_text() if SPEC.exists() else snippet
    assert snippet in spec


async def test_spec_snippet_runs_unchanged(sdk_tools: None, sdk_stack: SdkStack) -> None:
    program = EXAMPLE.read_text().replace("mp_live_YOUR_KEY", sdk_stack.key)
    script = SDKS / "php" / "examples" / ".spec-snippet-run.php"
    script.write_text(program)
    try:
        # Only the key is put in; the base URL comes from MAILPASS_BASE_URL.
        code, output = await run(["php", str(script)], cwd=ROOT, env=sdk_stack.environ())
    finally:
        script.unlink()
    assert code == 0, output
    assert re.fullmatch(r"<[^@<>]+@test\.mailpass\.local>", output), output
    [received] = await sdk_stack.smtp.wait_for(1)
    assert received.message["Message-ID"] == output
    assert received.rcpt_tos == ["user@example.com"]
    assert received.message["Subject"] == "Hello"


async def test_phpunit_suite(sdk_tools: None, sdk_stack: SdkStack) -> None:
    code, output = await run(
        ["phpunit", "--colors=never", "--debug", "-c", "phpunit.xml", "--do-not-cache-result"],
        cwd=SDKS / "php",
        env=sdk_stack.environ(),
    )
    assert code == 0, output
    match = re.search(r"OK \((\d+) tests, (\d+) assertions\)", output)
    assert match and int(match[1]) >= 8, output
