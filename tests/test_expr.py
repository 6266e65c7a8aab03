"""Tests of the HS3 expression language (hs3jax.expr): parser, printer, sympy and JAX lowering."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from hs3jax.errors import ExpressionError
from hs3jax.expr import (
    FUNCTIONS,
    Binary,
    Call,
    Const,
    Expr,
    Num,
    Ternary,
    Unary,
    Var,
    diff_sympy,
    parse,
    rename,
    to_jax,
    to_jax_from_sympy,
    to_string,
    to_sympy,
)

jax.config.update("jax_enable_x64", True)


def ev(text: str, **values: Any) -> np.ndarray:
    """Parse ``text`` and evaluate it with JAX at the keyword values."""
    expr = parse(text)
    names = sorted(values)
    return np.asarray(to_jax(expr, names)(*(values[n] for n in names)))


def error_of(text: str, **kwargs: Any) -> ExpressionError:
    with pytest.raises(ExpressionError) as info:
        parse(text, **kwargs)
    return info.value


# -- precedence and associativity ------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2^3^2", 512.0),
        ("-2^2", -4.0),
        ("(-2)^2", 4.0),
        ("2^-1", 0.5),
        ("2^-1^2", 0.5),  # 2^(-(1^2))
        ("1-2-3", -4.0),
        ("8/4/2", 1.0),
        ("2*3+4*5", 26.0),
        ("2+3*4^2", 50.0),
        ("-3--2", -1.0),
        ("!0 + 1", 2.0),
        ("1 < 2 == 1", 1.0),  # (1 < 2) == 1
        ("1 + 1 < 3", 1.0),
        ("0 && 1 || 1", 1.0),
        ("1 || 0 && 0", 1.0),  # && binds tighter
        ("1 ? 2 : 3 ? 4 : 5", 2.0),
        ("0 ? 2 : 0 ? 4 : 5", 5.0),
        ("0 ? 2 : 1 ? 4 : 5", 4.0),
        ("1 ? 0 ? 6 : 7 : 8", 7.0),
        ("1 + 2 > 2 ? 10 : 20", 10.0),
        (".5 + 5. + 1e-3 + 1.5E2", 155.501),
        ("TRUE + FALSE + PI + EULER", 1.0 + math.pi + math.e),
        ("TMath::Pi() + TMath::E()", math.pi + math.e),
    ],
)
def test_precedence_and_values(text: str, value: float) -> None:
    assert ev(text) == pytest.approx(value, rel=1e-15)


def test_tree_shapes() -> None:
    x, y, z = Var("x"), Var("y"), Var("z")
    assert parse("-x^2") == Unary("-", Binary("^", x, Num(2)))
    assert parse("x^y^z") == Binary("^", x, Binary("^", y, z))
    assert parse("x-y-z") == Binary("-", Binary("-", x, y), z)
    assert parse("a?b:c?d:e") == Ternary(Var("a"), Var("b"), Ternary(Var("c"), Var("d"), Var("e")))
    assert parse("ifelse(a, b, c)") == parse("a ? b : c")
    assert parse("x === y") != parse("x == y")
    assert parse("TMath::Exp(x)") == parse("exp(x)") == parse("std::exp(x)")
    assert parse("TMath::Power(x, 2)") == Call("pow", (x, Num(2)))
    assert parse("exp") == Var("exp")  # a function name not followed by '(' is a variable


def test_variables() -> None:
    expr = parse("a * exp(b) + PI - TMath::Gaus(c, mu, 2) > d ? e : TRUE")
    assert expr.variables == frozenset({"a", "b", "c", "mu", "d", "e"})
    assert parse("3 + PI").variables == frozenset()


# -- functions against numpy -----------------------------------------------------------------
_POS = np.array([0.3, 1.0, 2.5, 7.0])
_ANY = np.array([-2.5, -0.4, 0.0, 0.7, 3.0])
_UNIT = np.array([-0.9, -0.2, 0.0, 0.5, 0.99])


@pytest.mark.parametrize(
    ("text", "reference", "points"),
    [
        ("exp(x)", np.exp, _ANY),
        ("log(x)", np.log, _POS),
        ("sqrt(x)", np.sqrt, _POS),
        ("abs(x)", np.abs, _ANY),
        ("fabs(x)", np.abs, _ANY),
        ("pow(x, 3)", lambda x: x**3, _ANY),
        ("pow(x, 0.7)", lambda x: x**0.7, _POS),
        ("x^2.5", lambda x: x**2.5, _POS),
        ("min(x, 0.5)", lambda x: np.minimum(x, 0.5), _ANY),
        ("max(x, 0.5)", lambda x: np.maximum(x, 0.5), _ANY),
        ("min(x, 0.5, -x)", lambda x: np.minimum(np.minimum(x, 0.5), -x), _ANY),
        ("max(x, 0.5, -x, 1)", lambda x: np.maximum.reduce([x, 0 * x + 0.5, -x, 0 * x + 1]), _ANY),
        ("sin(x)", np.sin, _ANY),
        ("cos(x)", np.cos, _ANY),
        ("tan(x)", np.tan, _UNIT),
        ("asin(x)", np.arcsin, _UNIT),
        ("acos(x)", np.arccos, _UNIT),
        ("atan(x)", np.arctan, _ANY),
        ("atan2(x, 0.5)", lambda x: np.arctan2(x, 0.5), _ANY),
        ("erf(x)", scipy.special.erf, _ANY),
        ("erfc(x)", scipy.special.erfc, _ANY),
        ("log10(x)", np.log10, _POS),
        ("cosh(x)", np.cosh, _ANY),
        ("sinh(x)", np.sinh, _ANY),
        ("tanh(x)", np.tanh, _ANY),
        ("floor(x)", np.floor, _ANY),
        ("ceil(x)", np.ceil, _ANY),
        ("TMath::Gaus(x)", lambda x: np.exp(-0.5 * x**2), _ANY),
        ("TMath::Gaus(x, 1)", lambda x: np.exp(-0.5 * (x - 1) ** 2), _ANY),
        ("TMath::Gaus(x, 1, 2)", lambda x: np.exp(-0.5 * ((x - 1) / 2) ** 2), _ANY),
        (
            "TMath::Gaus(x, 1, 2, TRUE)",
            lambda x: np.exp(-0.5 * ((x - 1) / 2) ** 2) / (np.sqrt(2 * np.pi) * 2),
            _ANY,
        ),
        ("TMath::Gaus(x, 1, 2, 0)", lambda x: np.exp(-0.5 * ((x - 1) / 2) ** 2), _ANY),
    ],
)
def test_functions_against_numpy(
    text: str, reference: Callable[[np.ndarray], np.ndarray], points: np.ndarray
) -> None:
    got = ev(text, x=points)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, reference(points), rtol=1e-13, atol=1e-300)
    # the sympy form gives the same numbers
    sym_fn = to_jax_from_sympy(to_sympy(parse(text)), ["x"])
    np.testing.assert_allclose(sym_fn(points), reference(points), rtol=1e-12, atol=1e-300)


def test_every_function_and_alias_is_tested_somewhere() -> None:
    tested = {"exp", "log", "sqrt", "abs", "pow", "min", "max", "sin", "cos", "tan", "asin"}
    tested |= {"acos", "atan", "atan2", "erf", "erfc", "log10", "cosh", "sinh", "tanh"}
    tested |= {"floor", "ceil", "TMath::Gaus"}
    assert tested == set(FUNCTIONS)


@pytest.mark.parametrize(
    ("root", "plain"),
    [
        ("TMath::Exp(x)", "exp(x)"),
        ("TMath::Log(x)", "log(x)"),
        ("TMath::Sqrt(x)", "sqrt(x)"),
        ("TMath::Abs(x)", "abs(x)"),
        ("TMath::Power(x, 3)", "pow(x, 3)"),
        ("TMath::Min(x, 2)", "min(x, 2)"),
        ("TMath::Max(x, 2)", "max(x, 2)"),
        ("TMath::Sin(x)", "sin(x)"),
        ("TMath::Cos(x)", "cos(x)"),
        ("TMath::Tan(x)", "tan(x)"),
        ("TMath::ASin(x / 10)", "asin(x / 10)"),
        ("TMath::ACos(x / 10)", "acos(x / 10)"),
        ("TMath::ATan(x)", "atan(x)"),
        ("TMath::ATan2(x, 2)", "atan2(x, 2)"),
        ("TMath::Erf(x)", "erf(x)"),
        ("TMath::Erfc(x)", "erfc(x)"),
        ("TMath::Log10(x)", "log10(x)"),
        ("TMath::CosH(x)", "cosh(x)"),
        ("TMath::SinH(x)", "sinh(x)"),
        ("TMath::TanH(x)", "tanh(x)"),
        ("TMath::Floor(x)", "floor(x)"),
        ("TMath::Ceil(x)", "ceil(x)"),
        ("std::pow(x, 2) + std::sqrt(x)", "pow(x, 2) + sqrt(x)"),
        ("std::max(x, 1, 2)", "max(x, 1, 2)"),
    ],
)
def test_root_aliases(root: str, plain: str) -> None:
    assert parse(root) == parse(plain)
    np.testing.assert_allclose(ev(root, x=_POS), ev(plain, x=_POS), rtol=0, atol=0)


# -- comparisons, logic, ternary -------------------------------------------------------------
@pytest.mark.parametrize(
    ("op", "reference"),
    [
        ("<", np.less),
        ("<=", np.less_equal),
        (">", np.greater),
        (">=", np.greater_equal),
        ("===", np.equal),
        ("!==", np.not_equal),
        ("==", np.equal),
        ("!=", np.not_equal),
    ],
)
def test_comparisons(op: str, reference: Callable[..., np.ndarray]) -> None:
    a = np.array([1.0, 2.0, 3.0, -1.0])
    b = np.array([2.0, 2.0, 2.0, -1.0])
    got = ev(f"a {op} b", a=a, b=b)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, reference(a, b).astype(float))


def test_approximate_and_exact_equality() -> None:
    assert ev("0.1 + 0.2 == 0.3") == 1.0
    assert ev("0.1 + 0.2 === 0.3") == 0.0
    assert ev("0.1 + 0.2 != 0.3") == 0.0
    assert ev("0.1 + 0.2 !== 0.3") == 1.0
    assert ev("1 == 1.001") == 0.0
    assert ev("0 == 0") == 1.0
    assert ev("a == b", a=1.0, b=1.0 + 2 * np.finfo(float).eps) == 1.0
    assert ev("a == b", a=1.0, b=1.0 + 1e-12) == 0.0


def test_logical_operators() -> None:
    a = np.array([0.0, 0.0, 2.0, -3.0])
    b = np.array([0.0, 1.0, 0.0, 0.5])
    np.testing.assert_array_equal(ev("a && b", a=a, b=b), [0, 0, 0, 1])
    np.testing.assert_array_equal(ev("a || b", a=a, b=b), [0, 1, 1, 1])
    np.testing.assert_array_equal(ev("!a", a=a, b=b), [1, 1, 0, 0])
    np.testing.assert_array_equal(ev("!!a", a=a, b=b), [0, 0, 1, 1])
    np.testing.assert_array_equal(ev("!(a > 1) && b", a=a, b=b), [0, 1, 0, 1])
    assert ev("TRUE && !FALSE") == 1.0


def test_ternary() -> None:
    x = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    np.testing.assert_allclose(ev("x > 0 ? x^2 : -x", x=x), np.where(x > 0, x**2, -x))
    np.testing.assert_allclose(ev("x ? 1 : 2", x=x), np.where(x != 0, 1.0, 2.0))
    np.testing.assert_allclose(
        ev("x < -1 ? 1 : x < 1 ? 2 : 3", x=x), np.select([x < -1, x < 1], [1.0, 2.0], 3.0)
    )
    np.testing.assert_allclose(ev("ifelse(x >= 0, 10, 20)", x=x), np.where(x >= 0, 10.0, 20.0))


def test_nan_free_gradients_in_ternary_branches() -> None:
    cases = [
        "x > 0 ? sqrt(x) : 0",
        "x > 0 ? log(x) : x",
        "x != 0 ? 1 / x : 1",
        "x > 0 ? x^0.5 : -x",
        "abs(x) < 1 ? asin(x) : 0",
        "x <= 0 ? 0 : log10(x) + TMath::Gaus(x, 0, x, 1)",
        "x > 0 ? (x > 1 ? log(x - 1) : sqrt(x)) : x^2",
    ]
    for text in cases:
        f = to_jax(parse(text), ["x"])
        f_grad = jax.jit(jax.grad(f))
        for x0 in (-1.5, 0.0, 0.5, 1.0, 2.0):
            assert math.isfinite(float(f(x0))), (text, x0)
            assert math.isfinite(float(f_grad(x0))), (text, x0)  # no 0 * inf from the other branch
        # the derivative through sympy agrees and is NaN-free as well
        g = to_jax_from_sympy(diff_sympy(parse(text), "x"), ["x"])
        xs = jnp.array([-1.5, 0.5, 2.0, 3.0])
        np.testing.assert_allclose(g(xs), jax.vmap(jax.grad(f))(xs), rtol=1e-10)
        assert not np.isnan(np.asarray(jax.vmap(jax.grad(g))(xs))).any()


def test_nan_outside_conditionals_is_ieee() -> None:
    assert np.isnan(ev("log(x)", x=-1.0))
    assert ev("1 / x", x=0.0) == np.inf
    assert np.isnan(ev("sqrt(x)", x=-4.0))


# -- ROOT positional references ------------------------------------------------------------
def test_positional_references() -> None:
    names = ["mu", "sigma"]
    assert parse("@0 * @1", positional=names) == parse("mu * sigma")
    assert parse("x[0] + x[1]^2", positional=names) == parse("mu + sigma^2")
    assert parse("@1 - @0").variables == frozenset({"@0", "@1"})  # kept symbolic without names
    assert ev("@0 + 2 * @1", **{"@0": 1.0, "@1": 3.0}) == 7.0
    assert to_string(parse("@0 + @1")) == "@0 + @1"


# -- jit, vmap, broadcasting, dtypes --------------------------------------------------------
def test_jit_vmap_grad_and_broadcasting() -> None:
    f = to_jax(parse("a * exp(-b * x) + (x > 1 ? c : 0)"), ["a", "b", "c", "x"])
    xs = jnp.linspace(0.0, 3.0, 7)
    direct = f(2.0, 0.5, 1.0, xs)
    np.testing.assert_allclose(jax.jit(f)(2.0, 0.5, 1.0, xs), direct, rtol=1e-15)
    np.testing.assert_allclose(
        jax.vmap(f, in_axes=(None, None, None, 0))(2.0, 0.5, 1.0, xs), direct
    )
    grads = jax.grad(lambda p: f(p[0], p[1], p[2], xs).sum())(jnp.array([2.0, 0.5, 1.0]))
    np.testing.assert_allclose(grads[0], np.exp(-0.5 * np.asarray(xs)).sum(), rtol=1e-13)
    assert direct.dtype == jnp.float64
    batch = jax.vmap(f, in_axes=(0, None, None, None))(jnp.array([1.0, 2.0]), 0.5, 1.0, xs)
    assert batch.shape == (2, 7)
    # broadcasting between arguments, and unused arguments broadcast into the result
    g = to_jax(parse("a + 1"), ["a", "b"])
    assert g(jnp.ones(3), jnp.ones((2, 1))).shape == (2, 3)
    assert to_jax(parse("2"), ["x"])(jnp.ones(4)).shape == (4,)
    assert float(to_jax(parse("3 * PI"), [])()) == pytest.approx(3 * math.pi)


def test_to_jax_argument_errors() -> None:
    with pytest.raises(ExpressionError, match="not among the arguments") as info:
        to_jax(parse("a + b"), ["a"])
    assert info.value.found == "b"
    with pytest.raises(ValueError, match="more than once"):
        to_jax(parse("a"), ["a", "a"])
    with pytest.raises(TypeError, match="expected 1 arguments"):
        to_jax(parse("a"), ["a"])(1.0, 2.0)


# -- sympy ----------------------------------------------------------------------------------
_DERIVATIVE_CASES = [
    "a * x^2 + b * x + c",
    "exp(-x / a) / a",
    "log(x) * sqrt(x) + abs(x - b)",
    "pow(x, a) + x^-2",
    "min(x, a) + max(x, b, c)",
    "sin(x) * cos(a * x) + tan(x / 3)",
    "asin(x / 10) + acos(x / 10) + atan(x * a)",
    "atan2(x, a) + atan2(b, x)",
    "erf(x / a) + erfc(x)",
    "log10(x) + cosh(x) + sinh(x) * tanh(x)",
    "floor(x) + ceil(x) + x",
    "TMath::Gaus(x, a, b) + TMath::Gaus(x, a, b, 1)",
    "x > a ? x^2 : a * x",
    "(x < b && x > c) * x + !(x > a) * x^3",
    "x == a ? 1 : x",
    "ifelse(x >= 1, sqrt(x), x^2)",
    "PI * x + EULER ^ x + TRUE * x",
    "exp(-0.5 * ((x - a) / b)^2) / (sqrt(2 * PI) * b)",
]


@pytest.mark.parametrize("text", _DERIVATIVE_CASES)
def test_sympy_derivative_matches_jax_grad(text: str) -> None:
    expr = parse(text)
    names = ["x", "a", "b", "c"]
    f = to_jax(expr, names)
    rng = np.random.default_rng(abs(hash(text)) % 2**32)
    points = [rng.uniform([0.3, 0.5, 0.5, -1.0], [4.0, 3.0, 3.0, 0.3]) for _ in range(6)]
    for var_index, var in enumerate(names):
        if var not in expr.variables:
            continue
        d = to_jax_from_sympy(diff_sympy(expr, var), names)
        for p in points:
            expected = jax.grad(f, argnums=var_index)(*map(float, p))
            np.testing.assert_allclose(d(*p), expected, rtol=1e-9, atol=1e-12, err_msg=var)


def test_to_sympy_forms() -> None:
    x = sympy.Symbol("x", real=True)
    assert to_sympy(parse("x^2 + 1")) == x**2 + 1
    assert to_sympy(parse("PI")) == sympy.pi
    assert sympy.diff(to_sympy(parse("x > 1 ? x^3 : 0")), x).has(sympy.Piecewise)
    assert diff_sympy(parse("x < 2"), "x") == 0
    assert isinstance(to_sympy(parse("x < 2")), sympy.Piecewise)
    assert not to_sympy(parse("(x > 0) * x")).has(sympy.Heaviside)


def test_to_jax_from_sympy_whitelist() -> None:
    x = sympy.Symbol("x")
    with pytest.raises(ExpressionError, match="cannot lower") as info:
        to_jax_from_sympy(sympy.gamma(x), ["x"])
    assert "gamma" in str(info.value)
    with pytest.raises(ExpressionError, match="cannot lower"):
        to_jax_from_sympy(x * sympy.I, ["x"])
    with pytest.raises(ExpressionError, match="not among the arguments"):
        to_jax_from_sympy(x + sympy.Symbol("y"), ["x"])
    with pytest.raises(TypeError):
        to_jax_from_sympy("x + 1", ["x"])
    f = to_jax_from_sympy(sympy.Heaviside(x) + sympy.sign(x) + sympy.DiracDelta(x), ["x"])
    np.testing.assert_allclose(f(jnp.array([-1.0, 0.0, 2.0])), [-1.0, 0.5, 2.0])


# -- printer --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "2^3^2",
        "(2^3)^2",
        "-2^2",
        "(-2)^2",
        "2^-x^2",
        "2^(-x)^2",
        "a - (b - c)",
        "a / (b * c)",
        "a - -b",
        "--a",
        "!!a",
        "!(a && b) || c",
        "a ? b : c ? d : e",
        "(a ? b : c) ? d : e",
        "a ? (b ? c : d) : e",
        "(a ? b : c) + 1",
        "1 < 2 == 3 >= 4",
        "1 < (2 == 3)",
        "a === b && c !== d",
        "TMath::Gaus(x, 0, 1) * max(a, b, c, 1e-300)",
        "0.1 + 1e+20 + 1.5e-07 + 123456789012345678",
        "TMath::Pi() * TRUE",
        "x^0.5 * -y",
    ],
)
def test_to_string_round_trip(text: str) -> None:
    expr = parse(text)
    assert parse(to_string(expr)) == expr
    assert parse(to_string(expr, ifelse=True)) == expr
    assert to_string(parse(to_string(expr))) == to_string(expr)


def test_to_string_examples() -> None:
    assert to_string(parse("a+b*c")) == "a + b * c"
    assert to_string(parse("(a+b)*c")) == "(a + b) * c"
    assert to_string(parse("TMath::Exp(x)")) == "exp(x)"
    assert to_string(parse("c ? a : b"), ifelse=True) == "ifelse(c, a, b)"
    assert to_string(Num(-1.5)) == "(-1.5)"
    assert str(parse("x^2")) == "x^2"


_NAMES = st.sampled_from(["a", "b", "x1", "_y", "@0", "exp"])
_LEAVES: st.SearchStrategy[Expr] = st.one_of(
    st.floats(min_value=0.0, max_value=1e300, allow_nan=False, allow_infinity=False).map(Num),
    st.integers(min_value=0, max_value=10**6).map(lambda i: Num(float(i))),
    st.sampled_from(["TRUE", "FALSE", "PI", "EULER"]).map(Const),
    _NAMES.map(Var),
)
_BINARY_OPS = ["+", "-", "*", "/", "^", "==", "===", "!=", "!==", "<", "<=", ">", ">=", "&&", "||"]


def _extend(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    def call(name: str) -> st.SearchStrategy[Expr]:
        spec = FUNCTIONS[name]
        hi = spec.max_args if spec.max_args is not None else spec.min_args + 2
        return st.lists(children, min_size=spec.min_args, max_size=hi).map(
            lambda args: Call(name, tuple(args))
        )

    return st.one_of(
        st.builds(Unary, st.sampled_from(["+", "-", "!"]), children),
        st.builds(Binary, st.sampled_from(_BINARY_OPS), children, children),
        st.builds(Ternary, children, children, children),
        st.sampled_from(sorted(FUNCTIONS)).flatmap(call),
    )


_TREES = st.recursive(_LEAVES, _extend, max_leaves=25)


@settings(max_examples=300, deadline=None)
@given(_TREES)
def test_to_string_round_trip_random_trees(expr: Expr) -> None:
    assert parse(to_string(expr)) == expr
    assert parse(to_string(expr, ifelse=True)) == expr


def _smooth(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    return st.one_of(
        st.builds(Unary, st.just("-"), children),
        st.builds(Binary, st.sampled_from(["+", "-", "*"]), children, children),
        st.sampled_from(["sin", "cos", "tanh", "atan"]).flatmap(
            lambda name: children.map(lambda c: Call(name, (c,)))
        ),
    )


@settings(max_examples=60, deadline=None)
@given(
    st.recursive(
        st.one_of(
            st.sampled_from(["a", "b"]).map(Var),
            st.floats(min_value=0.0, max_value=3.0).map(Num),
        ),
        _smooth,
        max_leaves=8,
    )
)
def test_sympy_and_jax_agree_on_random_smooth_trees(expr: Expr) -> None:
    a = jnp.array([-1.3, 0.2, 0.9])
    b = jnp.array([0.4, -2.0, 1.7])
    direct = to_jax(expr, ["a", "b"])(a, b)
    via_sympy = to_jax_from_sympy(to_sympy(expr), ["a", "b"])(a, b)
    np.testing.assert_allclose(via_sympy, direct, rtol=1e-9, atol=1e-9)


# -- nodes built by hand are checked ---------------------------------------------------------
def test_node_validation() -> None:
    with pytest.raises(ValueError, match="finite"):
        Num(math.inf)
    with pytest.raises(ValueError, match="not a variable name"):
        Var("x.__class__")
    with pytest.raises(ValueError, match="constant"):
        Var("PI")
    with pytest.raises(ValueError, match="unknown function"):
        Call("eval", (Num(1),))
    with pytest.raises(ValueError, match="takes 2 arguments"):
        Call("pow", (Num(1),))
    with pytest.raises(ValueError, match="unknown binary operator"):
        Binary("**", Num(1), Num(2))  # type: ignore[arg-type]
    assert hash(parse("a + b")) == hash(parse("a+b"))
    assert {parse("a + b"): 1}[parse("(a)+(b)")] == 1


@settings(max_examples=200, deadline=None)
@given(_TREES)
def test_rename_equals_parsing_the_renamed_text(expr: Expr) -> None:
    names = {v: f"renamed_{i}" for i, v in enumerate(sorted(expr.variables))}
    renamed = rename(expr, names)
    assert renamed.variables == frozenset(names.values())
    assert parse(to_string(renamed)) == renamed
    assert rename(renamed, {new: old for old, new in names.items()}) == expr


def test_rename_keeps_unmapped_names_and_shared_subtrees() -> None:
    shared = parse("a * b")
    expr = Binary("+", shared, Call("exp", (shared,)))
    renamed = rename(expr, {"a": "c"})
    assert renamed == parse("c * b + exp(c * b)")
    assert isinstance(renamed, Binary) and isinstance(renamed.right, Call)
    assert renamed.left is renamed.right.args[0]
    # a long chain is renamed without deep recursion
    chain = parse(" + ".join(f"x{i}" for i in range(3000)))
    assert rename(chain, {"x0": "y"}).variables == (chain.variables - {"x0"}) | {"y"}


def test_long_chains_need_no_deep_recursion() -> None:
    n = 1000
    text = " + ".join(f"x{i}" for i in range(n))
    expr = parse(text)
    assert len(expr.variables) == n
    assert parse(to_string(expr)) == expr
    assert hash(parse(text)) == hash(expr)
    names = sorted(expr.variables)
    assert float(jax.jit(to_jax(expr, names))(*([1.0] * n))) == n
    assert to_sympy(parse(" * ".join(["x"] * 500))) == sympy.Symbol("x", real=True) ** 500
    # an else-if ladder (binned functions are written like this)
    ladder = " : ".join(f"x < {i} ? {i}" for i in range(1, 500)) + " : 500"
    f = jax.jit(to_jax(parse(ladder), ["x"]))
    np.testing.assert_allclose(f(jnp.array([0.5, 10.5, 498.5, 900.0])), [1, 11, 499, 500])
    assert parse(to_string(parse(ladder))) == parse(ladder)
    short = " : ".join(f"x < {i} ? {i}" for i in range(1, 90)) + " : 90"
    assert parse(to_string(parse(short), ifelse=True)) == parse(short)  # nested calls: <= 100
    assert len(to_sympy(parse(ladder)).args) == 500
    conj = " && ".join(f"x > {-i}" for i in range(300))
    assert float(to_jax(parse(conj), ["x"])(1.0)) == 1.0
    assert isinstance(to_sympy(parse(conj)), sympy.Piecewise)
    assert float(to_jax(parse("(" * 50 + "x" + ")" * 50), ["x"])(2.0)) == 2.0
    # the deepest nesting the parser accepts also goes through every walker
    deep = parse("sin(" * 99 + "x" + ")" * 99)
    assert parse(to_string(deep)) == deep
    assert math.isfinite(float(jax.jit(jax.grad(to_jax(deep, ["x"])))(0.3)))
    assert to_jax_from_sympy(diff_sympy(deep, "x"), ["x"])(0.3) == pytest.approx(
        float(jax.grad(to_jax(deep, ["x"]))(0.3)), rel=1e-12
    )


# -- malformed and hostile input -------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "position", "expected", "found", "words"),
    [
        ("__import__('os').system('rm -rf /')", 0, "a known function", "__import__", "unknown"),
        ("x.__class__", 1, "a number, a name", ".", "names cannot contain '.'"),
        ("lambda: 1", 6, "an operator or the end", ":", "unexpected text"),
        ("", 0, "an expression", None, "empty expression"),
        ("   ", 3, "an expression", None, "empty expression"),
        ("(x + 1", 6, "')'", None, "unclosed '('"),
        ("x + 1)", 5, "an operator or the end", ")", "unbalanced ')'"),
        ("x + ", 4, "a number, a name", None, "ends too early"),
        ("2 x", 2, "an operator or the end", "x", "unexpected text"),
        ("exp(x", 5, "',' or ')'", None, "unclosed '('"),
        ("pow(x)", 0, "2 arguments", "1 argument", "wrong number of arguments"),
        ("exp(1, 2)", 0, "1 argument", "2 arguments", "wrong number of arguments"),
        ("min(x)", 0, "2 or more arguments", "1 argument", "wrong number of arguments"),
        ("TMath::Pi(1)", 0, "no arguments", "1 argument", "wrong number of arguments"),
        ("ifelse(a, b)", 0, "3 arguments", "2 arguments", "wrong number of arguments"),
        ("a = b", 2, "a number, a name", "=", "use '=='"),
        ("a & b", 2, "a number, a name", "&", "use '&&'"),
        ("1e", 0, "a number such as", "1e", "malformed number"),
        ("2x", 0, "a number such as", "2x", "malformed number"),
        ("1.2.3", 0, "a number such as", "1.2.3", "malformed number"),
        ("a ? b", 5, "':'", None, "syntax error"),
        ("x[0]", 1, "an operator", "[", "needs the positional names"),
        ("y[0]", 1, "an operator", "[", "only ROOT's x[i]"),
        ("TMath::Pi", 9, "'('", None, "only allowed as a function name"),
        ("std::", 5, "a name after '::'", None, "incomplete qualified name"),
        ("@x", 1, "digits after '@'", "x", "bad positional reference"),
        ("1e999", 0, "a finite number", "1e999", "out of range"),
        ("a $ b", 2, "a number, a name", "$", "unexpected character"),
        ('"x"', 0, "a number, a name", '"', "no strings"),
        ("* x", 0, "a number, a name", "*", "syntax error"),
        ("f(x)", 0, "a known function", "f", "unknown function"),
        ("a b", 2, "an operator or the end", "b", "unexpected text"),
    ],
)
def test_malformed_and_hostile_input(
    text: str, position: int, expected: str, found: str | None, words: str
) -> None:
    err = error_of(text)
    message = str(err)
    assert f"at character {position} " in message
    assert words in message
    assert err.expected is not None and err.expected.startswith(expected)
    if found is None:
        assert repr(err.found) == "the end of the expression"
        assert "found the end of the expression" in message
    else:
        assert err.found == found
        assert f"found {found!r}" in message
    # a caret under the offending character, on the line after the echoed expression
    lines = message.split("\n")
    caret_line = next(line for line in lines if line.lstrip().startswith("^"))
    echo = lines[lines.index(caret_line) - 1]
    assert caret_line.index("^") == 4 + position
    assert echo[4:] == text.replace("\t", " ")


def test_unknown_function_lists_known_and_closest() -> None:
    err = error_of("TMath::Expp(x)")
    message = str(err)
    assert "TMath::Exp" in message and "sqrt" in message and "ifelse" in message
    assert "Did you mean 'TMath::Exp'?" in message
    assert "did you mean 'exp'" in str(error_of("EXP(x)")).lower()


def test_error_location_from_caller() -> None:
    err = error_of("1 +", file="model.json", path=("functions", 3, "expression"))
    assert str(err).startswith("model.json: at $.functions[3].expression: ")


def test_positional_out_of_range() -> None:
    err = error_of("@2 + 1", positional=["a", "b"])
    assert "out of range" in str(err) and "a, b" in str(err)
    err = error_of("x[5]", positional=["a"])
    assert "out of range" in str(err)
    err = error_of("x[a]", positional=["a"])
    assert "integer index" in str(err)


def test_nesting_limits() -> None:
    err = error_of("(" * 500 + "x" + ")" * 500)
    assert "nested too deeply" in str(err)
    err = error_of("-" * 500 + "x")
    assert "nested too deeply" in str(err)
    err = error_of("2^" * 150 + "x")
    assert "nested too deeply" in str(err)


def test_non_string_input() -> None:
    with pytest.raises(ExpressionError, match="must be a string"):
        parse(42)  # type: ignore[arg-type]


def test_long_expression_error_is_windowed() -> None:
    text = "a + " * 100 + "$"
    message = str(error_of(text))
    assert "..." in message
    assert len(message.split("\n")[1]) < 200
