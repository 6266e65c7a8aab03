"""JSON data -> :class:`~hs3jax.schema.document.Document`, with errors that say where.

Pydantic's validation errors are translated into :class:`~hs3jax.errors.DocumentError` with the
JSON path of the offending value, what was expected and what was found; an unknown node type
lists the registered types and the closest match.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from hs3jax.errors import DocumentError, UnknownTypeError
from hs3jax.registry import known_types, lookup
from hs3jax.schema.document import (
    Analysis,
    BinnedData,
    Document,
    Domain,
    Likelihood,
    Metadata,
    ParameterPoint,
    PointData,
    UnbinnedData,
)

__all__ = ["parse_document", "validation_error"]

_DATA_TYPES: dict[str, type[BaseModel]] = {
    "binned": BinnedData,
    "unbinned": UnbinnedData,
    "point": PointData,
}

_LIST_SECTIONS: dict[str, type[BaseModel]] = {
    "likelihoods": Likelihood,
    "domains": Domain,
    "parameter_points": ParameterPoint,
    "analyses": Analysis,
}

_EXPECTED = {
    "missing": "this key",
    "string_type": "a string",
    "float_type": "a number",
    "float_parsing": "a number",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "list_type": "a list",
    "dict_type": "an object",
    "model_type": "an object",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "literal_error": "one of the allowed values",
}


def _json_loc(loc: Sequence[Any], raw: Any, keep_last: bool) -> list[str | int]:
    """``loc`` without pydantic's union-member tags (``str``, ``normsys``, ``list[str]``...).

    The raw input is walked along ``loc``: a part that is not a key (or index) of the value
    reached so far is a tag pydantic added, except the last part of a missing key.
    """
    out: list[str | int] = []
    value = raw
    for i, part in enumerate(loc):
        in_list = isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value)
        if in_list or (isinstance(value, Mapping) and part in value):
            value = value[part]
        elif keep_last and i == len(loc) - 1:
            pass
        elif raw is None and not (isinstance(part, str) and "[" in part):
            value = None  # no input to walk: keep what does not look like a tag
        else:
            continue
        out.append(part)
    return out


def _what(path: Sequence[str | int]) -> str:
    """``modifier`` for a path ending in ``modifiers[2]``; ``value`` otherwise."""
    if len(path) >= 2 and isinstance(path[-1], int) and isinstance(path[-2], str):
        return path[-2].removesuffix("s")
    return "value"


def validation_error(
    exc: ValidationError, prefix: Sequence[str | int], file: str | None, raw: Any = None
) -> DocumentError:
    """The first error of a pydantic ValidationError as a DocumentError at ``prefix + loc``.

    ``raw`` (the validated input) lets the path skip pydantic's union-member tags; errors of the
    union members at one place are merged into one ("expected a string or a number").
    """
    errors = exc.errors(include_url=False)
    err = errors[0]
    kind = err["type"]
    loc = _json_loc(err["loc"], raw, keep_last=kind == "missing")
    path = (*prefix, *loc)
    message = err["msg"]
    ctx = err.get("ctx") or {}
    if kind == "value_error" and isinstance(ctx.get("error"), DocumentError):
        inner: DocumentError = ctx["error"]
        return inner.within(path, file)
    if kind == "missing":
        return DocumentError(
            f"missing required key {loc[-1]!r}" if loc else "missing value",
            file=file,
            path=path[:-1] if loc else path,
            expected=f"key {loc[-1]!r}" if loc else None,
            show_found=False,
        )
    if kind == "union_tag_invalid":
        tags = [t.strip().strip("'") for t in str(ctx.get("expected_tags", "")).split(",")]
        return UnknownTypeError(
            f"unknown {_what(path)} type {ctx.get('tag')!r}",
            file=file,
            path=(*path, "type"),
            expected=f"a known {_what(path)} type",
            found=ctx.get("tag"),
            known=[t for t in tags if t],
        )
    if kind == "union_tag_not_found":
        return DocumentError(
            f"{_what(path)} has no 'type'",
            file=file,
            path=(*path, "type"),
            expected="a type string",
            found=None,
        )
    expected = _EXPECTED.get(kind)
    if kind == "literal_error":
        expected = message.removeprefix("Input should be ")
    if kind in ("value_error", "assertion_error"):
        message = message.removeprefix("Value error, ")
    found = err.get("input")
    if expected is not None:
        # the members of a union (``str | float``) fail at the same place: list every option
        options = [expected]
        for other in errors[1:]:
            here = _json_loc(other["loc"], raw, keep_last=other["type"] == "missing")
            option = _EXPECTED.get(other["type"])
            if here == loc and option is not None and option not in options:
                options.append(option)
        expected = " or ".join(options)
        if len(options) > 1:
            message = "wrong type"
    return DocumentError(
        message if expected is None else f"invalid value ({message})",
        file=file,
        path=path,
        expected=expected,
        found=found,
        show_found=kind not in ("value_error", "assertion_error"),
    )


def _require_list(raw: Mapping[str, Any], key: str, file: str | None) -> list[Any]:
    value = raw.get(key, [])
    if not isinstance(value, list):
        raise DocumentError(
            f"section {key!r} must be a list",
            file=file,
            path=(key,),
            expected="a list",
            found=value,
        )
    return value


def _parse_node(item: Any, kind: str, section: str, i: int, file: str | None) -> Any:
    path: tuple[str | int, ...] = (section, i)
    if not isinstance(item, dict):
        raise DocumentError(
            f"each entry of {section!r} must be an object",
            file=file,
            path=path,
            expected="an object with 'name' and 'type'",
            found=item,
        )
    type_name = item.get("type")
    if not isinstance(type_name, str):
        raise DocumentError(
            f"{kind} {item.get('name', '?')!r} has no 'type'",
            file=file,
            path=(*path, "type"),
            expected="a type string",
            found=type_name,
            known=known_types(kind),
        )
    cls = lookup(kind, type_name)
    if cls is None:
        raise UnknownTypeError(
            f"unknown {kind} type {type_name!r} (in {kind} {item.get('name', '?')!r})",
            file=file,
            path=(*path, "type"),
            expected=f"a registered {kind} type",
            found=type_name,
            known=known_types(kind),
        )
    try:
        node = cls.model_validate(item)
        node.check()
        return node
    except ValidationError as exc:
        raise validation_error(exc, path, file, item) from None
    except DocumentError as exc:
        raise exc.within(path, file) from None
    except ValueError as exc:  # a node's check() reporting without a JSON path
        raise DocumentError(
            f"{kind} {item.get('name', '?')!r}: {exc}", file=file, path=path, show_found=False
        ) from None


def parse_document(raw: Any, file: str | None = None) -> Document:
    """Validate JSON data as an HS3 document; raise DocumentError naming file and JSON path."""
    if not isinstance(raw, dict):
        raise DocumentError(
            "an HS3 document must be a JSON object",
            file=file,
            path=(),
            expected="an object with 'distributions', 'data', ...",
            found=type(raw).__name__,
        )
    sections: dict[str, Any] = {}
    sections["distributions"] = [
        _parse_node(item, "distribution", "distributions", i, file)
        for i, item in enumerate(_require_list(raw, "distributions", file))
    ]
    sections["functions"] = [
        _parse_node(item, "function", "functions", i, file)
        for i, item in enumerate(_require_list(raw, "functions", file))
    ]
    data = []
    for i, item in enumerate(_require_list(raw, "data", file)):
        kind = item.get("type") if isinstance(item, dict) else None
        cls = _DATA_TYPES.get(kind) if isinstance(kind, str) else None
        if cls is None:
            raise UnknownTypeError(
                f"unknown data type {kind!r}",
                file=file,
                path=("data", i, "type"),
                expected="a data type",
                found=kind,
                known=_DATA_TYPES,
            )
        try:
            data.append(cls.model_validate(item))
        except ValidationError as exc:
            raise validation_error(exc, ("data", i), file, item) from None
    sections["data"] = data
    for key, cls in _LIST_SECTIONS.items():
        items = []
        for i, item in enumerate(_require_list(raw, key, file)):
            try:
                items.append(cls.model_validate(item))
            except ValidationError as exc:
                raise validation_error(exc, (key, i), file, item) from None
        sections[key] = items
    try:
        sections["metadata"] = Metadata.model_validate(raw.get("metadata", {}))
    except ValidationError as exc:
        raise validation_error(exc, ("metadata",), file, raw.get("metadata")) from None
    extra = {k: v for k, v in raw.items() if k not in sections}
    present = {k: v for k, v in sections.items() if k in raw}
    try:
        return Document.model_validate({**extra, **present})
    except ValidationError as exc:
        raise validation_error(exc, (), file, raw) from None
