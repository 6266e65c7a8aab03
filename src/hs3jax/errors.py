"""The hs3jax exception hierarchy.

Every error a user can trigger with bad input derives from :class:`HS3JaxError` and is raised
at the layer that knows the cause. Errors about a document carry where the problem is (the file
and the JSON path), what was expected and what was found, so that the message alone is enough
to fix the input.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

__all__ = [
    "CycleError",
    "DocumentError",
    "DuplicateNameError",
    "ExpressionError",
    "FormatError",
    "HS3JaxError",
    "MissingReferenceError",
    "ModelError",
    "UnknownTypeError",
    "format_json_path",
]

JsonPath = Sequence[str | int]


def format_json_path(path: JsonPath) -> str:
    """Render a JSON path as ``$.distributions[3].samples[0].name``."""
    out = "$"
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}"
    return out


def _short(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class HS3JaxError(Exception):
    """Base class of every error hs3jax raises on purpose."""


class ModelError(HS3JaxError):
    """A model cannot be built or evaluated as asked (unknown analysis, bad parameter name...)."""


class DocumentError(HS3JaxError, ValueError):
    """Bad input in a document: names the file, the JSON path, what was expected and found."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        path: JsonPath = (),
        expected: str | None = None,
        found: object = None,
        known: Iterable[str] | None = None,
        show_found: bool = True,
    ) -> None:
        self.message = message
        self.file = file
        self.path = tuple(path)
        self.expected = expected
        self.found = found
        self.known = tuple(sorted(known)) if known is not None else None
        self.show_found = show_found
        super().__init__(self._render())

    def with_file(self, file: str | None) -> DocumentError:
        """The same error, naming ``file`` (used when the loader learns the file name)."""
        if file is None or self.file is not None:
            return self
        self.file = file
        self.args = (self._render(),)
        return self

    def within(self, prefix: JsonPath, file: str | None = None) -> DocumentError:
        """The same error, its path below ``prefix`` (for errors raised relative to a node)."""
        self.path = (*prefix, *self.path)
        if self.file is None:
            self.file = file
        self.args = (self._render(),)
        return self

    def _render(self) -> str:
        where = self.file if self.file is not None else "<document>"
        parts = [f"{where}: at {format_json_path(self.path)}: {self.message}"]
        if self.expected is not None:
            parts.append(f"expected {self.expected}")
        if self.show_found:
            parts.append(f"found {_short(self.found)}")
        text = "; ".join(parts)
        if self.known is not None:
            text += f". Known: {', '.join(self.known)}"
            if isinstance(self.found, str):
                close = difflib.get_close_matches(self.found, self.known, n=1, cutoff=0.6)
                if close:
                    text += f". Did you mean {close[0]!r}?"
        return text

    def __str__(self) -> str:
        return self._render()


class FormatError(DocumentError):
    """The input is not JSON, or not a format hs3jax reads (HS3, pyhf JSON)."""


class UnknownTypeError(DocumentError):
    """A node ``type`` that no registered class handles."""


class MissingReferenceError(DocumentError):
    """A node refers to a name that is neither a node, a parameter nor an observable."""


class DuplicateNameError(DocumentError):
    """Two nodes share one name."""


class CycleError(DocumentError):
    """The references form a cycle (a function that depends on itself)."""


class ExpressionError(DocumentError):
    """An expression string (``generic_function``, ``generic_dist``) that does not parse."""
