"""A recursive-descent parser for the HS3 expression language (grammar in ``hs3jax.expr``)."""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence

from hs3jax.errors import ExpressionError
from hs3jax.expr._ast import (
    Binary,
    BinaryOp,
    Call,
    Const,
    ConstName,
    Expr,
    Num,
    Ternary,
    Unary,
    Var,
)
from hs3jax.expr._functions import (
    ALIASES,
    CONSTANT_CALLS,
    CONSTANTS,
    FUNCTIONS,
    IFELSE,
    KNOWN_FUNCTIONS,
)
from hs3jax.expr._lexer import END, Token, Tokenizer, syntax_error

__all__ = ["MAX_NESTING", "parse"]

MAX_NESTING = 100
"""Most nested parentheses, calls, prefix operators, powers and conditionals accepted.

Chains (``a + b + ...``, ``c1 ? a1 : c2 ? a2 : ...``) are not nesting and have no limit.
"""

_LEVELS: tuple[tuple[BinaryOp, ...], ...] = (
    ("||",),
    ("&&",),
    ("==", "===", "!=", "!=="),
    ("<", "<=", ">", ">="),
    ("+", "-"),
    ("*", "/"),
)
_BINARY: dict[str, tuple[BinaryOp, int]] = {
    op: (op, level) for level, ops in enumerate(_LEVELS, start=1) for op in ops
}
_OPERAND = "a number, a name, a function call, '(' or a prefix operator (+ - !)"
_AFTER_OPERAND = "an operator or the end of the expression"


def parse(
    text: str,
    *,
    positional: Sequence[str] | None = None,
    file: str | None = None,
    path: Sequence[str | int] = (),
) -> Expr:
    """Parse an HS3 (or ROOT ``TFormula``-style) expression into an immutable tree.

    ``positional`` names the variables ROOT's ``@0, @1, ...`` and ``x[0], x[1], ...`` refer to.
    Without it ``@i`` stays the variable named ``"@i"`` and ``x[i]`` is an error. ``file`` and
    ``path`` only locate errors. Raises :class:`~hs3jax.errors.ExpressionError` with the character
    offset, a caret under the problem, the expected and the found token.
    """
    if not isinstance(text, str):
        raise ExpressionError(
            "an expression must be a string", file=file, path=path, expected="str", found=text
        )
    parser = _Parser(text, positional, file, path)
    return parser.parse()


class _Parser:
    def __init__(
        self,
        text: str,
        positional: Sequence[str] | None,
        file: str | None,
        path: Sequence[str | int],
    ) -> None:
        self.text = text
        self.positional = None if positional is None else tuple(positional)
        self.file = file
        self.path = tuple(path)
        self.lexer = Tokenizer(text, file, self.path)
        self.tok = self.lexer.next()
        self.nesting = 0

    # -- helpers ---------------------------------------------------------------------------
    def error(
        self,
        pos: int,
        what: str,
        *,
        expected: str | None,
        found: object,
        known: Sequence[str] | None = None,
    ) -> ExpressionError:
        return syntax_error(
            self.text,
            pos,
            what,
            expected=expected,
            found=found,
            file=self.file,
            path=self.path,
            known=known,
        )

    def advance(self) -> Token:
        tok = self.tok
        self.tok = self.lexer.next()
        return tok

    def at_end(self) -> bool:
        return self.tok.kind == "end"

    def at(self, *ops: str) -> bool:
        return self.tok.kind == "op" and self.tok.text in ops

    def expect(self, op: str, expected: str, opened: Token | None = None) -> Token:
        if not self.at(op):
            what = "syntax error"
            if opened is not None:
                what = f"unclosed '{opened.text}' (opened at character {opened.pos})"
            raise self.error(self.tok.pos, what, expected=expected, found=self.tok.found)
        return self.advance()

    def enter(self, tok: Token) -> None:
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise self.error(
                tok.pos,
                f"expression nested too deeply (more than {MAX_NESTING} levels)",
                expected="a flatter expression",
                found=tok.found,
            )

    # -- grammar ---------------------------------------------------------------------------
    def parse(self) -> Expr:
        if self.tok.kind == "end":
            what = "empty expression" if not self.text.strip() else "syntax error"
            raise self.error(self.tok.pos, what, expected="an expression", found=END)
        expr = self.ternary()
        if not self.at_end():
            what = "unexpected text after the expression"
            if self.at(")"):
                what = "unbalanced ')'"
            raise self.error(self.tok.pos, what, expected=_AFTER_OPERAND, found=self.tok.found)
        return expr

    def ternary(self) -> Expr:
        # An else-if ladder c1 ? a1 : c2 ? a2 : e is read in a loop (no recursion per step),
        # then nested to the right.
        steps: list[tuple[Expr, Expr]] = []
        operand = self.binary(1)
        while self.at("?"):
            question = self.advance()
            self.enter(question)
            if_true = self.ternary()
            self.nesting -= 1
            self.expect(":", "':' of the conditional 'c ? a : b'", None)
            steps.append((operand, if_true))
            operand = self.binary(1)
        for condition, if_true in reversed(steps):
            operand = Ternary(condition, if_true, operand)
        return operand

    def binary(self, min_level: int) -> Expr:
        """Precedence climbing over the left-associative binary levels (``||`` to ``*``)."""
        left = self.unary()
        while self.tok.kind == "op" and self.tok.text in _BINARY:
            op, level = _BINARY[self.tok.text]
            if level < min_level:
                break
            self.advance()
            left = Binary(op, left, self.binary(level + 1))
        return left

    def unary(self) -> Expr:
        if self.at("+", "-", "!"):
            tok = self.advance()
            self.enter(tok)
            operand = self.unary()
            self.nesting -= 1
            if tok.text == "-":
                return Unary("-", operand)
            return Unary("+", operand) if tok.text == "+" else Unary("!", operand)
        return self.power()

    def power(self) -> Expr:
        base = self.primary()
        if not self.at("^"):
            return base
        tok = self.advance()
        self.enter(tok)
        exponent = self.unary()  # right-associative; binds tighter than a prefix on its left
        self.nesting -= 1
        return Binary("^", base, exponent)

    def primary(self) -> Expr:
        tok = self.tok
        if tok.kind == "number":
            self.advance()
            value = float(tok.text)
            if not math.isfinite(value):
                raise self.error(
                    tok.pos, "number out of range", expected="a finite number", found=tok.text
                )
            return Num(value)
        if tok.kind == "positional":
            self.advance()
            return self.positional_var(int(tok.text[1:]), tok)
        if tok.kind == "name":
            self.advance()
            if self.at("("):
                return self.call(tok)
            if self.at("["):
                return self.index(tok)
            if "::" in tok.text:
                raise self.error(
                    self.tok.pos,
                    f"qualified name {tok.text!r} is only allowed as a function name",
                    expected="'(' after a function name",
                    found=self.tok.found,
                )
            if tok.text in CONSTANTS:
                return Const(_const_name(tok.text))
            return Var(tok.text)
        if self.at("("):
            self.advance()
            self.enter(tok)
            inner = self.ternary()
            self.expect(")", "')'", tok)
            self.nesting -= 1
            return inner
        what = "the expression ends too early" if tok.kind == "end" else "syntax error"
        raise self.error(tok.pos, what, expected=_OPERAND, found=tok.found)

    def positional_var(self, index: int, tok: Token) -> Var:
        if self.positional is None:
            return Var(f"@{index}")
        if index >= len(self.positional):
            raise self.error(
                tok.pos,
                f"positional reference {tok.text!r} out of range",
                expected=f"an index below {len(self.positional)} "
                f"(positional names: {', '.join(self.positional)})",
                found=tok.text,
            )
        return Var(self.positional[index])

    def index(self, name: Token) -> Var:
        bracket = self.advance()
        if self.positional is None or name.text != "x":
            what = (
                f"index reference '{name.text}[...]' needs the positional names "
                "(pass positional=[...] to parse)"
                if name.text == "x"
                else "only ROOT's x[i] index references are supported"
            )
            raise self.error(bracket.pos, what, expected=_AFTER_OPERAND, found="[")
        num = self.tok
        if num.kind != "number" or not num.text.isdigit():
            raise self.error(
                num.pos, "bad index reference", expected="an integer index", found=num.found
            )
        self.advance()
        self.expect("]", "']'", bracket)
        return self.positional_var(int(num.text), Token("positional", f"x[{num.text}]", name.pos))

    def call(self, name: Token) -> Expr:
        fname = name.text
        canonical = ALIASES.get(fname)
        if canonical is None and fname not in CONSTANT_CALLS and fname != IFELSE:
            raise self._unknown_function(name)
        opened = self.advance()
        self.enter(opened)
        args: list[Expr] = []
        if not self.at(")"):
            args.append(self.ternary())
            while self.at(","):
                self.advance()
                args.append(self.ternary())
        self.expect(")", "',' or ')'", opened)
        self.nesting -= 1
        if fname in CONSTANT_CALLS:
            self._check_arity(name, len(args), 0, 0, "no arguments")
            return Const(_const_name(CONSTANT_CALLS[fname]))
        if fname == IFELSE:
            self._check_arity(name, len(args), 3, 3, "3 arguments")
            return Ternary(args[0], args[1], args[2])
        assert canonical is not None
        spec = FUNCTIONS[canonical]
        self._check_arity(name, len(args), spec.min_args, spec.max_args, spec.arity_text)
        return Call(canonical, tuple(args))

    def _check_arity(self, name: Token, n: int, lo: int, hi: int | None, text: str) -> None:
        if n < lo or (hi is not None and n > hi):
            raise self.error(
                name.pos,
                f"wrong number of arguments to {name.text}()",
                expected=text,
                found=f"{n} argument" + ("" if n == 1 else "s"),
            )

    def _unknown_function(self, name: Token) -> ExpressionError:
        fname = name.text
        what = f"unknown function {fname!r}"
        if not difflib.get_close_matches(fname, KNOWN_FUNCTIONS, n=1, cutoff=0.6):
            lowered = {k.lower(): k for k in KNOWN_FUNCTIONS}
            close = difflib.get_close_matches(fname.lower(), list(lowered), n=1, cutoff=0.5)
            if close:
                what += f" (did you mean {lowered[close[0]]!r}?)"
        return self.error(
            name.pos,
            what,
            expected="a known function (std:: spellings of the C functions work too)",
            found=fname,
            known=[k for k in KNOWN_FUNCTIONS if not k.startswith("std::")],
        )


def _const_name(name: str) -> ConstName:
    for const in ("TRUE", "FALSE", "PI", "EULER"):
        if const == name:
            return const
    raise AssertionError(name)  # pragma: no cover
