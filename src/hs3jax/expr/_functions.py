"""The whitelist: constants, functions and the spellings (aliases) the parser accepts."""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "ALIASES",
    "APPROX_EQUAL_ULPS",
    "CONSTANTS",
    "CONSTANT_CALLS",
    "FUNCTIONS",
    "IFELSE",
    "KNOWN_FUNCTIONS",
    "FunctionSpec",
]

CONSTANTS: dict[str, float] = {"TRUE": 1.0, "FALSE": 0.0, "PI": math.pi, "EULER": math.e}
"""The named constants of the HS3 expression language."""

CONSTANT_CALLS: dict[str, str] = {"TMath::Pi": "PI", "TMath::E": "EULER"}
"""ROOT's zero-argument constant functions, and the constant each stands for."""

APPROX_EQUAL_ULPS = 4
"""``a == b`` holds when ``|a - b| <= APPROX_EQUAL_ULPS * eps * max(|a|, |b|)`` (HS3:
"approximately equal, within a small multiple of the unit of least precision"); ``===`` is exact.
"""

IFELSE = "ifelse"
"""HS3's conditional ``ifelse(c, a, b)``; parsed as the ternary ``c ? a : b``."""


@dataclass(frozen=True)
class FunctionSpec:
    """A function of the language: its canonical name and how many arguments it takes."""

    name: str
    min_args: int
    max_args: int | None  # None: any number from min_args up
    doc: str

    def accepts(self, n: int) -> bool:
        """Whether ``n`` arguments are allowed."""
        return n >= self.min_args and (self.max_args is None or n <= self.max_args)

    @property
    def arity_text(self) -> str:
        """``"1 argument"``, ``"2 or more arguments"``, ``"1 to 4 arguments"``..."""
        lo, hi = self.min_args, self.max_args
        if hi is None:
            return f"{lo} or more arguments"
        if lo == hi:
            return f"{lo} argument" + ("" if lo == 1 else "s")
        return f"{lo} to {hi} arguments"


def _spec(name: str, lo: int, hi: int | None, doc: str) -> tuple[str, FunctionSpec]:
    return name, FunctionSpec(name, lo, hi, doc)


FUNCTIONS: dict[str, FunctionSpec] = dict(
    [
        _spec("exp", 1, 1, "e to the power x"),
        _spec("log", 1, 1, "natural logarithm"),
        _spec("sqrt", 1, 1, "square root"),
        _spec("abs", 1, 1, "absolute value"),
        _spec("pow", 2, 2, "pow(x, y) = x^y"),
        _spec("min", 2, None, "smallest argument"),
        _spec("max", 2, None, "largest argument"),
        _spec("sin", 1, 1, "sine"),
        _spec("cos", 1, 1, "cosine"),
        _spec("tan", 1, 1, "tangent"),
        _spec("asin", 1, 1, "inverse sine"),
        _spec("acos", 1, 1, "inverse cosine"),
        _spec("atan", 1, 1, "inverse tangent"),
        _spec("atan2", 2, 2, "atan2(y, x), the angle of the point (x, y)"),
        _spec("erf", 1, 1, "error function"),
        _spec("erfc", 1, 1, "complementary error function"),
        _spec("log10", 1, 1, "base-10 logarithm"),
        _spec("cosh", 1, 1, "hyperbolic cosine"),
        _spec("sinh", 1, 1, "hyperbolic sine"),
        _spec("tanh", 1, 1, "hyperbolic tangent"),
        _spec("floor", 1, 1, "largest integer not above x"),
        _spec("ceil", 1, 1, "smallest integer not below x"),
        _spec(
            "TMath::Gaus",
            1,
            4,
            "TMath::Gaus(x, mean=0, sigma=1, norm=0) = exp(-((x-mean)/sigma)^2/2), "
            "divided by sqrt(2 pi) sigma when norm != 0 (as ROOT)",
        ),
    ]
)
"""The functions, by canonical name (the name :func:`to_string` writes)."""

_TMATH = {
    "Exp": "exp",
    "Log": "log",
    "Sqrt": "sqrt",
    "Abs": "abs",
    "Power": "pow",
    "Min": "min",
    "Max": "max",
    "Sin": "sin",
    "Cos": "cos",
    "Tan": "tan",
    "ASin": "asin",
    "ACos": "acos",
    "ATan": "atan",
    "ATan2": "atan2",
    "Erf": "erf",
    "Erfc": "erfc",
    "Log10": "log10",
    "CosH": "cosh",
    "SinH": "sinh",
    "TanH": "tanh",
    "Floor": "floor",
    "Ceil": "ceil",
}


def _aliases() -> dict[str, str]:
    out = {name: name for name in FUNCTIONS}
    out.update({f"TMath::{root}": canonical for root, canonical in _TMATH.items()})
    out.update({f"std::{name}": name for name in FUNCTIONS if "::" not in name})
    out.update({"fabs": "abs", "std::fabs": "abs"})
    return out


ALIASES: dict[str, str] = _aliases()
"""Every accepted function spelling -> its canonical name."""

KNOWN_FUNCTIONS: tuple[str, ...] = tuple(sorted({*ALIASES, *CONSTANT_CALLS, IFELSE}))
"""Every name the parser accepts before ``(``."""
