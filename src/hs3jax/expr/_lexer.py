"""Tokens of the expression language, produced on demand so errors come in text order."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from hs3jax.errors import ExpressionError

__all__ = ["END", "Token", "TokenKind", "Tokenizer", "syntax_error"]

TokenKind = Literal["number", "name", "positional", "op", "end"]

# Longest first, so that "===" wins over "==" and "<=" over "<".
_OPERATORS = (
    "===",
    "!==",
    "==",
    "!=",
    "<=",
    ">=",
    "&&",
    "||",
    "<",
    ">",
    "+",
    "-",
    "*",
    "/",
    "^",
    "!",
    "(",
    ")",
    ",",
    "?",
    ":",
    "[",
    "]",
)
_NUMBER = re.compile(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_QUALIFIED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*")
_DIGITS = re.compile(r"[0-9]+")
_NAME_CHAR = re.compile(r"[A-Za-z0-9_.]")
_SPACE = " \t\r\n"
_SNIPPET = 60  # characters of context shown either side of the caret


class _EndOfExpression:
    """Stands for the end of the text in ``ExpressionError.found``."""

    def __repr__(self) -> str:
        return "the end of the expression"


END = _EndOfExpression()


@dataclass(frozen=True, slots=True)
class Token:
    """One token: its kind, its text and its character offset in the expression."""

    kind: TokenKind
    text: str
    pos: int

    @property
    def found(self) -> object:
        """What an error message says was found here."""
        return END if self.kind == "end" else self.text


def _caret(text: str, pos: int) -> str:
    lo = max(0, pos - _SNIPPET)
    hi = min(len(text), pos + _SNIPPET)
    prefix = "..." if lo > 0 else ""
    suffix = "..." if hi < len(text) else ""
    line = prefix + text[lo:hi].replace("\n", " ").replace("\t", " ") + suffix
    return f"    {line}\n    {' ' * (len(prefix) + pos - lo)}^ here"


def syntax_error(
    text: str,
    pos: int,
    what: str,
    *,
    expected: str | None,
    found: object,
    file: str | None = None,
    path: Sequence[str | int] = (),
    known: Sequence[str] | None = None,
) -> ExpressionError:
    """An :class:`ExpressionError` pointing at character ``pos`` of ``text`` with a caret."""
    message = f"{what} at character {pos} of the expression:\n{_caret(text, pos)}"
    return ExpressionError(
        message, file=file, path=path, expected=expected, found=found, known=known
    )


class Tokenizer:
    """Reads tokens from ``text`` one at a time."""

    def __init__(self, text: str, file: str | None, path: Sequence[str | int]) -> None:
        self.text = text
        self.pos = 0
        self.file = file
        self.path = path

    def error(self, pos: int, what: str, *, expected: str | None, found: object) -> ExpressionError:
        """A syntax error at ``pos`` (see :func:`syntax_error`)."""
        return syntax_error(
            self.text, pos, what, expected=expected, found=found, file=self.file, path=self.path
        )

    def next(self) -> Token:
        """The next token (an ``end`` token once the text is used up)."""
        text, n = self.text, len(self.text)
        pos = self.pos
        while pos < n and text[pos] in _SPACE:
            pos += 1
        if pos >= n:
            self.pos = pos
            return Token("end", "", pos)
        char = text[pos]
        match = _NUMBER.match(text, pos)
        if match is not None:
            end = match.end()
            if end < n and _NAME_CHAR.match(text, end):
                bad = re.match(r"[A-Za-z0-9_.]+", text[pos:])
                assert bad is not None
                raise self.error(
                    pos,
                    "malformed number",
                    expected="a number such as 12, 1.5, .5 or 1.5e-3 followed by an operator",
                    found=bad.group(),
                )
            self.pos = end
            return Token("number", match.group(), pos)
        if _IDENT.match(text, pos):
            match = _QUALIFIED.match(text, pos)
            assert match is not None
            end = match.end()
            if text.startswith("::", end):
                raise self.error(
                    end + 2,
                    "incomplete qualified name",
                    expected="a name after '::'",
                    found=text[end + 2 : end + 3] or END,
                )
            self.pos = end
            return Token("name", match.group(), pos)
        if char == "@":
            match = _DIGITS.match(text, pos + 1)
            if match is None:
                raise self.error(
                    pos + 1,
                    "bad positional reference",
                    expected="digits after '@' (as in @0)",
                    found=text[pos + 1 : pos + 2] or END,
                )
            self.pos = match.end()
            return Token("positional", text[pos : match.end()], pos)
        for op in _OPERATORS:
            if text.startswith(op, pos):
                self.pos = pos + len(op)
                return Token("op", op, pos)
        hints = {
            "=": "use '==' to compare",
            "&": "use '&&' for logical and",
            "|": "use '||' for logical or",
            ".": "names cannot contain '.'",
            "'": "there are no strings in expressions",
            '"': "there are no strings in expressions",
        }
        what = "unexpected character"
        if char in hints:
            what += f" ({hints[char]})"
        raise self.error(
            pos,
            what,
            expected="a number, a name, an operator or a parenthesis",
            found=char,
        )
