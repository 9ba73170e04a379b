"""Liquid rendering of tenant templates, within bounds (python-liquid 2).

Templates are written by tenants, so they are hostile input. Liquid runs no code; what is
left is to keep a template from reading files or stalling a sender:

- no ``{% include %}`` or ``{% render %}``: the tags are not registered (a template using
  one fails to parse), and the loader is an empty ``DictLoader``, so nothing is read;
- a template part is at most :data:`MAX_TEMPLATE_CHARS`, its rendered output at most
  :data:`MAX_OUTPUT_CHARS` (the environment's output stream limit, the same as a message
  body), a loop nest at most :data:`MAX_LOOP_ITERATIONS` iterations (the product of the
  nested loops' lengths), assigned values at most :data:`MAX_LOCALS_BYTES`, contexts and
  blocks nested at most 30 deep (python-liquid's defaults);
- every node rendered spends one step of a :class:`RenderBudget` shared by all the
  renders of one request, which also carries a deadline: sequential loops, each within
  the iteration limit, cannot add up to a stall. python-liquid has no hook per node; the
  one place every node passes through is ``Node.render``'s look at the context's
  ``disabled_tags`` (a list, tested for truth), so the budget is that list (empty, never
  disabling anything) and spends a step each time it is tested;
- ``replace`` (the one filter whose output can be the square of its input) checks the
  size of its result before building it.

Variables are HTML-escaped in ``html`` (the environment's autoescape; the template's own
markup is kept) and not in ``subject`` or ``text``. A variable the template uses and the
request lacks is an error naming it (:class:`MissingVariable`); ``| default:`` and a
``null`` value are how a template has optional variables.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from liquid import BoundTemplate, Environment, RenderContext
from liquid.builtin.filters.string import replace as liquid_replace
from liquid.exceptions import (
    LiquidError,
    OutputStreamLimitError,
    ResourceLimitError,
    UndefinedError,
)
from liquid.filter import string_filter
from liquid.undefined import StrictDefaultUndefined
from markupsafe import soft_str

MAX_TEMPLATE_CHARS = 100_000  # html or text; a subject template at most 2,000
MAX_SUBJECT_TEMPLATE_CHARS = 2_000
MAX_OUTPUT_CHARS = 512 * 1024  # as a message body (mailpass_gateway.mail.models)
MAX_LOOP_ITERATIONS = 10_000
MAX_LOCALS_BYTES = 128 * 1024
# What one request (a /send, a whole batch, a preview) may spend rendering: a step is a
# node rendered, about a microsecond. A typical template renders a few hundred nodes per
# message; a batch of 100 of them with a loop over a dozen items, about 100,000.
REQUEST_STEPS = 300_000
REQUEST_SECONDS = 1.0


class TemplateProblem(Exception):
    """A template that cannot be used: does not parse, or does not render in bounds."""

    def __init__(self, part: str, message: str) -> None:
        super().__init__(f"{part}: {message}")
        self.part = part
        self.message = message


class MissingVariable(TemplateProblem):
    def __init__(self, part: str, name: str) -> None:
        super().__init__(part, f"the template uses the variable {name!r}, which was not given")
        self.name = name


class RenderLimit(ResourceLimitError):
    """The request's rendering budget (steps or time) ran out."""


class RenderBudget(list[str]):
    """The steps and the time left to a request's renders; see the module's docstring."""

    def __init__(self, steps: int = REQUEST_STEPS, seconds: float = REQUEST_SECONDS) -> None:
        super().__init__()
        self.steps = steps
        self.deadline = time.monotonic() + seconds

    def __bool__(self) -> bool:
        self.steps -= 1
        if self.steps < 0:
            raise RenderLimit("the template takes too many steps to render", token=None)
        if not self.steps & 1023 and time.monotonic() > self.deadline:
            raise RenderLimit("the template takes too long to render", token=None)
        return False


@string_filter
def _bounded_replace(val: str, seq: object, sub: object = "") -> str:
    old, new = soft_str(seq), soft_str(sub)
    count = val.count(old) if old else len(val) + 1
    if len(val) + count * (len(new) - len(old)) > MAX_OUTPUT_CHARS:
        raise OutputStreamLimitError("replace would make a string too long", token=None)
    return str(liquid_replace(val, old, new))


class _Env(Environment):
    loop_iteration_limit: ClassVar[int | None] = MAX_LOOP_ITERATIONS
    output_stream_limit: ClassVar[int | None] = MAX_OUTPUT_CHARS
    local_namespace_limit: ClassVar[int | None] = MAX_LOCALS_BYTES

    def __init__(self, *, autoescape: bool) -> None:
        super().__init__(autoescape=autoescape, undefined=StrictDefaultUndefined)
        for tag in ("include", "render"):
            del self.tags[tag]
        self.filters["replace"] = _bounded_replace


_TEXT = _Env(autoescape=False)
_HTML = _Env(autoescape=True)


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str | None
    text: str | None


@dataclass(frozen=True)
class CompiledTemplate:
    """A template's parts parsed once; rendered once per message."""

    subject: BoundTemplate
    html: BoundTemplate | None
    text: BoundTemplate | None

    def variables(self) -> list[str]:
        """The names the parts read from outside (their own assigns and loops aside)."""
        names: set[str] = set()
        for part in (self.subject, self.html, self.text):
            if part is not None:
                names.update(part.global_variables(include_partials=False))
        return sorted(names)

    def render(self, variables: Mapping[str, Any], budget: RenderBudget) -> Rendered:
        return Rendered(
            subject=_render("subject", self.subject, variables, budget),
            html=None if self.html is None else _render("html", self.html, variables, budget),
            text=None if self.text is None else _render("text", self.text, variables, budget),
        )


def _parse(part: str, env: Environment, source: str, limit: int) -> BoundTemplate:
    if len(source) > limit:
        raise TemplateProblem(part, f"at most {limit} characters")
    try:
        return env.from_string(source)
    except LiquidError as exc:
        raise TemplateProblem(part, _message(exc)) from exc
    except (RecursionError, ValueError) as exc:  # nesting beyond the parser's recursion
        raise TemplateProblem(part, f"cannot be parsed: {type(exc).__name__}") from exc


def compile_template(subject: str, html: str | None, text: str | None) -> CompiledTemplate:
    """Parse the parts; :class:`TemplateProblem` names the first that does not parse."""
    return CompiledTemplate(
        subject=_parse("subject", _TEXT, subject, MAX_SUBJECT_TEMPLATE_CHARS),
        html=None if html is None else _parse("html", _HTML, html, MAX_TEMPLATE_CHARS),
        text=None if text is None else _parse("text", _TEXT, text, MAX_TEMPLATE_CHARS),
    )


def _render(
    part: str, template: BoundTemplate, variables: Mapping[str, Any], budget: RenderBudget
) -> str:
    context = RenderContext(template, globals=template.make_globals(dict(variables)))
    context.disabled_tags = budget  # after the constructor, which would test it for truth
    buffer = template._get_buffer()
    try:
        template.render_with_context(context, buffer)
    except UndefinedError as exc:
        raise MissingVariable(part, _undefined_name(str(exc))) from exc
    except LiquidError as exc:
        raise TemplateProblem(part, _message(exc)) from exc
    except (ArithmeticError, ValueError, TypeError, RecursionError, MemoryError) as exc:
        # A filter fed values it cannot take (a number too large to print, ...): the
        # template's fault, never the sender's.
        raise TemplateProblem(part, f"cannot be rendered: {type(exc).__name__}") from exc
    return buffer.getvalue()


def _undefined_name(message: str) -> str:
    # StrictUndefined's first line: "'name' is undefined", or "a.b is undefined" for a
    # missing property of a given object.
    first = message.splitlines()[0] if message else ""
    return first.removesuffix(" is undefined").strip("'")[:200]


def _message(exc: LiquidError) -> str:
    return str(getattr(exc, "message", None) or exc).splitlines()[0][:300]
