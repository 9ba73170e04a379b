"""Liquid rendering of tenant templates: escaping, missing variables, and hostile
templates that must fail fast instead of stalling a sender or reading files."""

from __future__ import annotations

import time

import pytest

from mailpass_common.templates.rendering import (
    MAX_OUTPUT_CHARS,
    MissingVariable,
    RenderBudget,
    TemplateProblem,
    compile_template,
)

# Every hostile template is refused within this (the request budget is 1 s; the machine
# may be busy).
FAST = 3.0


def render_html(source: str, variables: dict[str, object] | None = None) -> str:
    rendered = compile_template("s", source, None).render(variables or {}, RenderBudget())
    assert rendered.html is not None
    return rendered.html


def test_variables_are_escaped_in_html_only() -> None:
    template = compile_template(
        "Order {{ name }}", "<p>{{ name }}</p><a href='{{ url }}'>x</a>", "Hi {{ name }}"
    )
    rendered = template.render({"name": "<b>A&B</b>", "url": "https://x/?a=1&b=2"}, RenderBudget())
    assert rendered.subject == "Order <b>A&B</b>"
    assert rendered.text == "Hi <b>A&B</b>"
    assert rendered.html == (
        "<p>&lt;b&gt;A&amp;B&lt;/b&gt;</p><a href='https://x/?a=1&amp;b=2'>x</a>"
    )


def test_a_missing_variable_is_named_and_default_makes_one_optional() -> None:
    template = compile_template("{{ order.number }}", "<p>{{ name | default: 'friend' }}</p>", None)
    with pytest.raises(MissingVariable) as missing:
        template.render({"order": {}}, RenderBudget())
    assert (missing.value.part, missing.value.name) == ("subject", "order.number")
    with pytest.raises(MissingVariable) as absent:
        compile_template("{% if coupon %}x{% endif %}", None, "t").render({}, RenderBudget())
    assert absent.value.name == "coupon"
    rendered = template.render({"order": {"number": 7}}, RenderBudget())
    assert (rendered.subject, rendered.html) == ("7", "<p>friend</p>")
    assert compile_template("{{ a }}", None, None).variables() == ["a"]


@pytest.mark.parametrize(
    "source",
    [
        "{% include 'secrets' %}",
        "{% render '/etc/passwd' %}",
        "{% include 'x' with y %}{% render 'x' for items as i %}",
    ],
)
def test_include_and_render_cannot_read_anything(source: str) -> None:
    with pytest.raises(TemplateProblem, match="unexpected tag"):
        compile_template("s", source, None)


@pytest.mark.parametrize(
    ("source", "variables", "problem"),
    [
        # Nested loops: the product of their lengths is capped.
        (
            "{% for a in (1..100000) %}{% for b in (1..100000) %}x{% endfor %}{% endfor %}",
            {},
            "loop iteration limit",
        ),
        # Sequential loops, each within the cap: the request's step budget stops them.
        ("{% for a in (1..9999) %}{% assign q = a %}{% endfor %}" * 40, {}, "too"),
        # Output beyond a message body.
        ("{% for a in (1..9999) %}" + "x" * 1000 + "{% endfor %}", {}, "output stream limit"),
        # A string doubled in a loop (assign, capture).
        (
            "{% assign s = 'aaaaaaaaaaaaaaaa' %}{% for a in (1..64) %}"
            "{% assign s = s | append: s %}{% endfor %}",
            {},
            "namespace limit",
        ),
        (
            "{% capture s %}{% for a in (1..9999) %}" + "y" * 200 + "{% endfor %}{% endcapture %}",
            {},
            "limit",
        ),
        # replace squares its input.
        ("{{ v | replace: 'a', v }}", {"v": "a" * 50_000}, "too long"),
        ("{{ v | replace: '', v }}", {"v": "a" * 50_000}, "too long"),
        # Numbers squared until they are huge.
        (
            "{% assign x = 99 %}{% for a in (1..64) %}{% assign x = x | times: x %}{% endfor %}"
            "{{ x }}",
            {},
            "limit",
        ),
    ],
)
def test_hostile_templates_fail_fast(
    source: str, variables: dict[str, object], problem: str
) -> None:
    template = compile_template("s", source, None)  # parsing is bounded by the size cap
    started = time.monotonic()
    with pytest.raises(TemplateProblem, match=problem):
        template.render(variables, RenderBudget())
    assert time.monotonic() - started < FAST


def test_deep_nesting_and_oversized_templates_are_refused_when_parsed() -> None:
    with pytest.raises(TemplateProblem, match="nesting"):
        compile_template("s", "{% if a %}" * 2000, None)
    with pytest.raises(TemplateProblem, match="at most 100000"):
        compile_template("s", "x" * 100_001, None)
    with pytest.raises(TemplateProblem, match="at most 2000"):
        compile_template("x" * 2001, "b", None)
    with pytest.raises(TemplateProblem, match="html"):
        compile_template("s", "{% for %}", None)


def test_one_budget_is_shared_by_the_renders_of_a_request() -> None:
    template = compile_template("s", "{% for a in (1..5000) %}{{ a }}{% endfor %}", None)
    budget = RenderBudget(steps=40_000, seconds=60)
    renders = 0
    with pytest.raises(TemplateProblem, match="too many steps"):
        for _ in range(100):
            template.render({}, budget)
            renders += 1
    assert 1 <= renders < 10
    assert len(render_html("{% for a in (1..5000) %}{{ a }}{% endfor %}")) < MAX_OUTPUT_CHARS
