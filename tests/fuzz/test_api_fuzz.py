"""Schemathesis against ``/openapi.json``, with valid keys: whatever it sends, the gateway
answers with a status its document declares, a body matching the declared schema, and
never a 5xx other than SEND_FAILED (a provider's refusal, which the API reports as 500).

A CI-sized run here (a few examples per operation, a fixed seed: the same requests every
time); ``make fuzz`` runs the same test with ``MAILPASS_FUZZ_EXAMPLES`` examples per
operation (default 300 there). ``POST /providers/{id}/test`` is left out: it connects to
the provider's host, and the fuzzer would make up hosts.
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import (
    CheckContext,
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import Failure
from schemathesis.core.result import Ok

from tests.fuzz.conftest import FuzzStack

EXAMPLES = int(os.environ.get("MAILPASS_FUZZ_EXAMPLES", "8"))
PROBE = "/api/v1/providers/{provider_id}/test"


class UnexpectedServerError(Failure):
    pass


@schemathesis.check
def no_server_error_but_send_failed(
    ctx: CheckContext, response: schemathesis.Response, case: Case[Any]
) -> None:
    """5xx only as SEND_FAILED, the spec's answer when every provider refused."""
    if response.status_code < 500:
        return None
    try:
        code = response.json()["error"]["code"]
    except Exception:
        code = None
    if code != "SEND_FAILED":
        raise UnexpectedServerError(
            operation=case.operation.label,
            title="Server error",
            message=f"{response.status_code} {code or response.text[:300]}",
        )
    return None


def _fuzz(
    operation: APIOperation[Any, Any, Any, Any], mode: GenerationMode, fuzz_stack: FuzzStack
) -> None:
    key = (
        fuzz_stack.mail_key if operation.path.startswith("/api/v1/mail/") else fuzz_stack.admin_key
    )

    @given(case=operation.as_strategy(mode))
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Case[Any]) -> None:
        case.call_and_validate(
            headers={"Authorization": f"Bearer {key}"},
            checks=[
                no_server_error_but_send_failed,
                status_code_conformance,
                content_type_conformance,
                response_schema_conformance,
            ],
            excluded_checks=[not_a_server_error],
        )

    run()


def test_every_operation_answers_within_its_document(fuzz_stack: FuzzStack) -> None:
    schema = schemathesis.openapi.from_url(f"{fuzz_stack.base_url}/openapi.json")
    results = list(schema.exclude(path=PROBE).get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    # Every operation of the document loads (none is skipped as unreadable).
    assert operations and len(operations) == len(results), [
        r for r in results if not isinstance(r, Ok)
    ]
    failures = []
    for operation in operations:
        for mode in GenerationMode:  # valid input, then input the document rules out
            try:
                _fuzz(operation, mode, fuzz_stack)
            except Exception as exc:  # the shrunk failure of this run; go on to the next
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    assert not failures, "\n\n".join(failures)
