"""The TypeScript SDK (sdks/typescript), built with tsc, its `node --test` suite against the
real stack."""

from __future__ import annotations

import re

from tests.sdks.conftest import SDKS, SdkStack, run


async def test_node_suite(sdk_tools: None, sdk_stack: SdkStack) -> None:
    code, output = await run(
        ["node", "--test", "test/"], cwd=SDKS / "typescript", env=sdk_stack.environ()
    )
    assert code == 0, output
    passed = re.search(r"^# pass (\d+)$", output, re.M)
    failed = re.search(r"^# fail (\d+)$", output, re.M)
    assert passed and int(passed[1]) >= 9 and failed and failed[1] == "0", output
