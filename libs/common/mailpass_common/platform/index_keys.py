"""What a write costs the indexes: an estimate of the index keys it inserts and deletes.

Defined as MongoDB reports it (``keysInserted + keysDeleted`` in its profiler and slow
query log), from the indexes declared in :mod:`mailpass_common.platform.indexes` (the one
source of truth; the indexes other modules create for their own collections are not
counted) and the write command alone, never a read:

- an insert adds one key to ``_id`` and one to every index whose partial filter the
  document matches (one per element when a key field holds an array);
- an update deletes one key and inserts one in every index whose key fields it writes;
  one that moves a document into or out of a partial index's filter inserts or deletes
  one. Where the document is before the update comes from the update's own filter
  (``status: {$eq: ...}`` or ``$in``, the mean over the ``$in`` values); a filter field
  the filter does not name counts as outside the partial filter (partial indexes hold
  rare states);
- a delete removes the keys the document had (known from the filter, as above).

Partial filters are evaluated with the operators the table uses: equality, ``$eq``,
``$exists`` and ``$in``; the table refuses any other (a test compiles it).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pymongo import IndexModel

from mailpass_common.platform.indexes import INDEXES, TTL_COLLECTIONS, TTL_FIELD

MISSING: Any = object()
# Operators of an update that write the fields they name.
_WRITING = (
    "$set",
    "$unset",
    "$inc",
    "$currentDate",
    "$push",
    "$pull",
    "$addToSet",
    "$pop",
    "$min",
    "$max",
    "$mul",
    "$rename",
)
Predicate = Callable[[Any], bool]


def _predicate(condition: Any) -> Predicate:
    if not isinstance(condition, Mapping):
        return _equals(condition)
    if set(condition) == {"$eq"}:
        return _equals(condition["$eq"])
    if set(condition) == {"$exists"}:
        wanted = bool(condition["$exists"])
        return lambda value: (value is not MISSING) is wanted
    if set(condition) == {"$in"}:
        tests = [_equals(choice) for choice in condition["$in"]]
        return lambda value: any(test(value) for test in tests)
    raise ValueError(f"a partial filter the key estimate cannot evaluate: {condition}")


def _equals(expected: Any) -> Predicate:
    if expected is None:  # MongoDB's equality to null matches a missing field too
        return lambda value: value is None or value is MISSING
    return lambda value: value == expected


@dataclass(frozen=True)
class IndexShape:
    fields: tuple[str, ...]
    partial: tuple[tuple[str, Predicate], ...] = ()

    @classmethod
    def of(cls, model: IndexModel) -> IndexShape:
        document = model.document
        partial = document.get("partialFilterExpression") or {}
        return cls(
            tuple(document["key"]),
            tuple((field, _predicate(condition)) for field, condition in partial.items()),
        )

    def holds(self, document: Mapping[str, Any]) -> bool:
        return all(test(document.get(field, MISSING)) for field, test in self.partial)

    def keys_of(self, document: Mapping[str, Any]) -> int:
        """The keys this index holds for ``document`` (0 when outside its filter)."""
        if not self.holds(document):
            return 0
        keys = 1
        for field in self.fields:
            value = document.get(field, MISSING)
            if isinstance(value, list):
                keys *= max(1, len(value))
        return keys


def shapes_by_collection(ttl: bool = True) -> dict[str, tuple[IndexShape, ...]]:
    """The declared indexes of every collection (``_id`` apart), with the TTL index on
    ``created_at`` of the collections that have one when retention is on (``ttl``)."""
    shapes = {name: tuple(IndexShape.of(m) for m in models) for name, models in INDEXES.items()}
    if ttl:
        for name in TTL_COLLECTIONS:
            shapes[name] = (*shapes.get(name, ()), IndexShape((TTL_FIELD,)))
    return shapes


def insert_keys(shapes: Sequence[IndexShape], document: Mapping[str, Any]) -> int:
    return 1 + sum(shape.keys_of(document) for shape in shapes)


def _priors(selector: Mapping[str, Any], fields: set[str]) -> list[dict[str, Any]]:
    """The documents the filter says it matched, as far as ``fields`` go: each ``$in``
    value is one possibility; a field the filter does not pin down is left out."""
    choices: list[list[tuple[str, Any]]] = []
    for field in fields:
        condition = selector.get(field, MISSING)
        if condition is MISSING:
            continue
        if not isinstance(condition, Mapping):
            choices.append([(field, condition)])
        elif set(condition) == {"$eq"}:
            choices.append([(field, condition["$eq"])])
        elif set(condition) == {"$in"} and condition["$in"]:
            choices.append([(field, value) for value in condition["$in"]])
    return [dict(combination) for combination in itertools.product(*choices)]


@dataclass(frozen=True)
class Written:
    """What an update writes: the fields, and the new value of those it sets or unsets."""

    fields: frozenset[str]
    values: Mapping[str, Any]
    replaces: bool = False

    @classmethod
    def of(cls, update: Any) -> Written:
        if not isinstance(update, Mapping):  # an aggregation pipeline: anything may change
            return cls(frozenset(), {}, replaces=True)
        if not any(op.startswith("$") for op in update):
            return cls(frozenset(update), dict(update), replaces=True)
        fields: set[str] = set()
        values: dict[str, Any] = {}
        for op in _WRITING:
            part = update.get(op)
            if not part:
                continue
            fields.update(f.split(".", 1)[0] for f in part)
            if op == "$rename":
                fields.update(str(v).split(".", 1)[0] for v in part.values())
            elif op == "$set":
                values.update(part)
            elif op == "$unset":
                values.update(dict.fromkeys(part, MISSING))
        return cls(frozenset(fields), values)

    def touches(self, shape: IndexShape) -> bool:
        return self.replaces or not self.fields.isdisjoint(shape.fields)

    def after(self, prior: Mapping[str, Any]) -> dict[str, Any]:
        if self.replaces:
            return dict(self.values)
        return {**prior, **self.values}


def update_keys(shapes: Sequence[IndexShape], selector: Mapping[str, Any], update: Any) -> float:
    """The keys one document's update inserts and deletes (a mean when the filter allows
    several starting points)."""
    written = Written.of(update)
    filtered = {field for shape in shapes for field, _ in shape.partial}
    signature = _signature(written, selector, filtered)
    cache = _CACHE.setdefault(id(shapes), {})
    found = cache.get(signature)
    if found is not None:
        return found
    priors = _priors(selector, filtered) or [{}]
    total = 0
    for prior in priors:
        after = written.after(prior)
        for shape in shapes:
            before_in, after_in = shape.holds(prior), shape.holds(after)
            if before_in and after_in:
                total += 2 if written.touches(shape) else 0
            elif before_in or after_in:
                total += 1
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[signature] = result = total / len(priors)
    return result


# The keys of an update depend only on the fields it writes, the values it gives the
# fields of partial filters and what its filter says of those: updates of one kind (a
# claim, an outcome) share one estimate, worked out once.
_CACHE: dict[int, dict[Any, float]] = {}
_CACHE_LIMIT = 1024


def _signature(written: Written, selector: Mapping[str, Any], filtered: set[str]) -> Any:
    def frozen(value: Any) -> Any:
        if isinstance(value, Mapping):
            return tuple((k, frozen(v)) for k, v in value.items())
        if isinstance(value, list | tuple):
            return tuple(frozen(v) for v in value)
        return (
            value
            if value is MISSING or isinstance(value, str | int | float | bool)
            else repr(value)
        )

    return (
        written.fields,
        written.replaces,
        tuple(
            (f, frozen(written.values.get(f, None)), f in written.values) for f in sorted(filtered)
        ),
        tuple((f, frozen(selector.get(f, MISSING))) for f in sorted(filtered)),
    )


def delete_keys(shapes: Sequence[IndexShape], selector: Mapping[str, Any]) -> float:
    filtered = {field for shape in shapes for field, _ in shape.partial}
    priors = _priors(selector, filtered) or [{}]
    return sum(insert_keys(shapes, prior) for prior in priors) / len(priors)


def _upserted(statement: Mapping[str, Any]) -> dict[str, Any]:
    """The document an upsert inserts: the filter's equalities and what the update sets."""
    selector = statement.get("q") or statement.get("query") or {}
    document = {
        field: value["$eq"] if isinstance(value, Mapping) and set(value) == {"$eq"} else value
        for field, value in selector.items()
        if not field.startswith("$") and (not isinstance(value, Mapping) or set(value) == {"$eq"})
    }
    update = statement.get("u") or statement.get("update") or {}
    if isinstance(update, Mapping):
        document.update(update.get("$setOnInsert") or {})
        document.update(update.get("$set") or {})
    return document


def write_cost(
    shapes: Sequence[IndexShape], command_name: str, command: Mapping[str, Any], reply: Any
) -> tuple[int, float]:
    """(documents written, index keys inserted and deleted) by one write command, from the
    command and the server's reply."""
    if command_name == "insert":
        failed = {error.get("index") for error in reply.get("writeErrors") or ()}
        documents = command.get("documents") or ()
        inserted = sum(insert_keys(shapes, d) for i, d in enumerate(documents) if i not in failed)
        return int(reply.get("n", 0)), float(inserted)
    if command_name == "update":
        statements = command.get("updates") or ()
        upserted = reply.get("upserted") or ()
        modified = int(reply.get("nModified", reply.get("n", 0))) - (
            0 if "nModified" in reply else len(upserted)
        )
        keys: float = 0.0
        if modified and statements:
            each = [update_keys(shapes, s.get("q") or {}, s.get("u")) for s in statements]
            keys = sum(each) * modified / len(each)
        for entry in upserted:
            keys += insert_keys(shapes, _upserted(statements[int(entry.get("index", 0))]))
        return modified + len(upserted), keys
    if command_name == "delete":
        statements = command.get("deletes") or ()
        deleted = int(reply.get("n", 0))
        if not deleted or not statements:
            return deleted, 0.0
        each = [delete_keys(shapes, s.get("q") or {}) for s in statements]
        return deleted, sum(each) * deleted / len(each)
    if command_name == "findAndModify":
        value = reply.get("value")
        # nx-27017 answers with the document only: one found counts as an update.
        found = {"n": 1, "updatedExisting": True} if value is not None else {}
        outcome = reply.get("lastErrorObject") or found
        if not outcome.get("n"):
            return 0, 0.0
        selector = command.get("query") or {}
        if command.get("remove"):
            return 1, insert_keys(shapes, value) if value else delete_keys(shapes, selector)
        if outcome.get("updatedExisting"):
            return 1, update_keys(shapes, selector, command.get("update"))
        return 1, insert_keys(shapes, value if value and command.get("new") else _upserted(command))
    return 0, 0.0
