"""One render per scenario for the whole session: the chart tests only read them."""

from __future__ import annotations

import pytest

from tests.helm.chart import Rendered, render, scenario_values

SCENARIOS = sorted(scenario_values())


@pytest.fixture(scope="session")
def rendered_scenarios() -> dict[str, Rendered]:
    return {name: render(values) for name, values in scenario_values().items()}


@pytest.fixture(params=SCENARIOS)
def scenario(request: pytest.FixtureRequest, rendered_scenarios: dict[str, Rendered]) -> Rendered:
    return rendered_scenarios[request.param]
