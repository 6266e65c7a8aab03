"""Performance *behaviour* (issue 6), not timings: how many programs are compiled, whether a
second process hits the persistent cache, whether the program grows with the number of
channels. Timings are in benchmarks/."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jax
import jax.monitoring
import numpy as np
import pytest

import hs3jax
from conftest import _COMPILE, ROOT, counting_compilations
from hs3jax.compile import compile_model

SIMPLE = ROOT / "tests" / "data" / "pyhf" / "simple.json"


# -- unbinned channels of one structure -------------------------------------------------------


def _channels_doc(n: int, extended: bool = False, generic: bool = False) -> dict[str, Any]:
    """``n`` unbinned channels, channel k a Gaussian in its own observable x_k with its own
    mean and width (and, extended, its own yield), different event counts per channel.
    ``generic``: the Gaussian times (1 + x_k / 100) written as a ``generic_dist`` expression."""
    rng = np.random.default_rng(7)
    dists, data, pars, domains = [], [], [], []
    for k in range(n):
        gauss: dict[str, Any] = {"name": f"g{k}", "type": "gaussian_dist", "x": f"x{k}"}
        gauss.update(mean=f"m{k}", sigma=f"s{k}")
        if generic:
            gauss = {
                "name": f"g{k}",
                "type": "generic_dist",
                "expression": f"exp(-0.5*((x{k} - m{k})/s{k})^2) * (1 + 0.01*x{k})",
            }
        if extended:
            dists.append(gauss)
            dists.append(
                {
                    "name": f"pdf{k}",
                    "type": "mixture_dist",
                    "summands": [f"g{k}"],
                    "coefficients": [f"n{k}"],
                    "extended": True,
                }
            )
            pars.append({"name": f"n{k}", "value": 10.0 + k})
        else:
            gauss["name"] = f"pdf{k}"
            dists.append(gauss)
        events = rng.normal(0.1 * k, 1.0, size=5 + (3 * k) % 7)
        data.append(
            {
                "name": f"d{k}",
                "type": "unbinned",
                "axes": [{"name": f"x{k}", "min": -5.0, "max": 5.0}],
                "entries": [[float(e)] for e in events],
            }
        )
        pars.append({"name": f"m{k}", "value": 0.05 * k})
        pars.append({"name": f"s{k}", "value": 1.0 + 0.02 * k})
        domains.append({"name": f"m{k}", "min": -3.0, "max": 3.0})
        domains.append({"name": f"s{k}", "min": 0.1, "max": 5.0})
    return {
        "metadata": {"hs3_version": "0.2"},
        "distributions": dists,
        "data": data,
        "likelihoods": [
            {
                "name": "L",
                "distributions": [f"pdf{k}" for k in range(n)],
                "data": [f"d{k}" for k in range(n)],
            }
        ],
        "domains": [{"name": "dom", "type": "product_domain", "axes": domains}],
        "parameter_points": [{"name": "default_values", "parameters": pars}],
    }


def _model(
    n: int, extended: bool = False, vectorise: bool = True, generic: bool = False
) -> hs3jax.Model:
    doc = hs3jax.load(_channels_doc(n, extended, generic)).document
    return compile_model(doc, vectorise_terms=vectorise)


def _program_size(model: hs3jax.Model) -> int:
    """Instructions of the optimised XLA program of −ln L, parameters (arguments) excepted."""
    with jax.enable_x64(True):
        text = jax.jit(model.nll_fn).lower(model.init, model.data, model.inputs).compile().as_text()
    entry = text[text.index("ENTRY") :]
    entry = entry[: entry.index("\n}")]
    lines = [line for line in entry.splitlines()[1:] if " = " in line]
    return sum(1 for line in lines if " parameter(" not in line)


@pytest.mark.parametrize(("extended", "generic"), [(False, False), (True, False), (True, True)])
def test_unbinned_channels_of_one_structure_give_the_same_nll(
    extended: bool, generic: bool
) -> None:
    vectorised = _model(12, extended, generic=generic)
    one_by_one = _model(12, extended, vectorise=False, generic=generic)
    rng = np.random.default_rng(1)
    for pars in (
        vectorised.init,
        vectorised.init * (1.0 + 0.1 * rng.standard_normal(len(vectorised.init))),
    ):
        a = float(vectorised.nll(pars))
        b = float(one_by_one.nll(pars))
        assert a == pytest.approx(b, rel=1e-14, abs=0.0)
        with jax.enable_x64(True):
            ga = np.asarray(jax.grad(vectorised.nll_fn)(pars, vectorised.data, vectorised.inputs))
            gb = np.asarray(jax.grad(one_by_one.nll_fn)(pars, one_by_one.data, one_by_one.inputs))
        np.testing.assert_allclose(ga, gb, rtol=1e-12, atol=1e-13)


def test_unbinned_nll_against_scipy() -> None:
    """The vectorised NLL is Σ_k Σ_i −ln N(x_ki | m_k, s_k) / (Φ(5) − Φ(−5)) (scipy)."""
    from scipy.stats import norm

    model = _model(6)
    doc = _channels_doc(6)
    pars = {p["name"]: p["value"] for p in doc["parameter_points"][0]["parameters"]}
    expected = 0.0
    for k, datum in enumerate(doc["data"]):
        m, s = pars[f"m{k}"], pars[f"s{k}"]
        mass = norm.cdf(5.0, m, s) - norm.cdf(-5.0, m, s)
        x = np.asarray(datum["entries"])[:, 0]
        expected -= float(np.sum(norm.logpdf(x, m, s) - np.log(mass)))
    assert float(model.nll()) == pytest.approx(expected, rel=1e-13)


def test_program_does_not_grow_with_the_number_of_unbinned_channels() -> None:
    sizes = {n: _program_size(_model(n)) for n in (3, 30)}
    # the members' events are separate arguments joined by one concatenation, which XLA splits
    # into a few pieces when it has many operands: a handful of instructions, not 10x
    assert sizes[30] <= sizes[3] + 5, sizes
    # without vectorisation the program grows with the channels (the test can fail)
    assert _program_size(_model(30, vectorise=False)) > 3 * sizes[3]


def _asimov_program_size(model: hs3jax.Model) -> int:
    """Instructions of the optimised XLA program of the Asimov events, parameters excepted."""
    assert model.asimov_events_fn is not None
    with jax.enable_x64(True):
        lowered = jax.jit(model.asimov_events_fn).lower(
            model.init, model.data["aux"], model.data["events"]
        )
        text = lowered.compile().as_text()
    entry = text[text.index("ENTRY") :]
    entry = entry[: entry.index("\n}")]
    lines = [line for line in entry.splitlines()[1:] if " = " in line]
    return sum(1 for line in lines if " parameter(" not in line)


@pytest.mark.parametrize(("extended", "generic"), [(False, False), (True, False), (True, True)])
def test_asimov_events_of_grouped_channels_equal_one_by_one(extended: bool, generic: bool) -> None:
    """The Asimov events of a group (one vmapped function) equal those computed channel by
    channel: the same points, weights to rounding."""
    vectorised = _model(12, extended, generic=generic)
    one_by_one = _model(12, extended, vectorise=False, generic=generic)
    assert vectorised.event_terms is not None and one_by_one.event_terms is None
    pars = vectorised.init * 1.04
    grouped = vectorised.asimov_events(pars, vectorised.data["aux"])
    single = one_by_one.asimov_events(pars, one_by_one.data["aux"])
    assert len(grouped) == len(single) == 12
    for a, b in zip(grouped, single, strict=True):
        assert sorted(a) == sorted(b)
        for key in a:
            np.testing.assert_allclose(np.asarray(a[key]), np.asarray(b[key]), rtol=1e-13)


def test_asimov_program_does_not_grow_with_the_number_of_unbinned_channels() -> None:
    sizes = {n: _asimov_program_size(_model(n)) for n in (3, 30)}
    # what grows is the outputs: each channel's grid column and weights are arrays of their
    # own (measured 32 instructions for 3 channels, 116 for 30; channel by channel 544)
    assert sizes[30] <= sizes[3] + 4 * 27, sizes
    # channel by channel the program grows with the channels' densities (the test can fail)
    assert _asimov_program_size(_model(30, vectorise=False)) > 4 * sizes[30]


def test_expression_functions_of_observables_are_grouped_too() -> None:
    """A generic_function of the observable inside each channel's generic_dist is renamed
    with its channel (Node.renamed on a node evaluated in the scope), and the grouped NLL
    equals the channel-by-channel one."""
    doc = _channels_doc(5, extended=True, generic=True)
    doc["functions"] = []
    for dist in doc["distributions"]:
        if dist["type"] == "generic_dist":
            k = dist["name"][1:]
            gauss = f"exp(-0.5 * ((x{k} - m{k}) / s{k})^2)"
            doc["functions"].append(
                {"name": f"f{k}", "type": "generic_function", "expression": gauss}
            )
            dist["expression"] = f"f{k} * (1 + 0.01 * x{k})"
    parsed = hs3jax.load(doc).document
    grouped = compile_model(parsed, vectorise_terms=True)
    one_by_one = compile_model(parsed, vectorise_terms=False)
    assert grouped.event_terms is not None  # the channels form a group
    assert one_by_one.event_terms is None
    pars = grouped.init * 1.03
    assert float(grouped.nll(pars)) == pytest.approx(float(one_by_one.nll(pars)), rel=1e-14)


def test_expression_densities_are_grouped_too() -> None:
    """generic_dist channels that differ only in their names are one group: the expressions
    are renamed in the parsed tree (Node.renamed), so the program does not grow either."""
    sizes = {n: _program_size(_model(n, generic=True)) for n in (3, 20)}
    assert sizes[20] <= sizes[3] + 5, sizes
    # and the renamed copy is the same density under canonical names
    node = hs3jax.load(_channels_doc(1, generic=True)).document.distributions[0]
    copy = node.renamed({"pdf0": "d0", "x0": "x0", "m0": "p0", "s0": "p1"})
    assert copy is not None
    assert copy.name == "d0"
    assert copy.expression == "exp(-0.5 * ((x0 - p0) / p1)^2) * (1 + 0.01 * x0)"


def _with_channel_ranges(doc: dict[str, Any]) -> dict[str, Any]:
    """The channels' means and widths bounded differently in every channel (as the yields of
    channels with different numbers of events are)."""
    for axis in doc["domains"][0]["axes"]:
        k = int(axis["name"][1:])
        axis["min"] -= 0.01 * k
        axis["max"] += 0.1 * k
    return doc


def test_channels_differing_only_in_parameter_ranges_are_one_group() -> None:
    """The parameters' ranges do not change a density of x: channels whose means and widths
    are bounded differently still form one group (the program does not grow) with the same
    NLL and gradient as channel by channel."""

    def build(n: int, vectorise: bool = True) -> hs3jax.Model:
        doc = hs3jax.load(_with_channel_ranges(_channels_doc(n, extended=True))).document
        return compile_model(doc, vectorise_terms=vectorise)

    sizes = {n: _program_size(build(n)) for n in (3, 30)}
    assert sizes[30] <= sizes[3] + 5, sizes
    grouped, one_by_one = build(12), build(12, vectorise=False)
    pars = grouped.init * 1.02
    assert float(grouped.nll(pars)) == pytest.approx(float(one_by_one.nll(pars)), rel=1e-14)
    with jax.enable_x64(True):
        ga = np.asarray(jax.grad(grouped.nll_fn)(pars, grouped.data, grouped.inputs))
        gb = np.asarray(jax.grad(one_by_one.nll_fn)(pars, one_by_one.data, one_by_one.inputs))
    np.testing.assert_allclose(ga, gb, rtol=1e-12, atol=1e-13)


class _MeanRangeGaussian(hs3jax.Distribution):
    """N(x | mean, sigma) / (width of the mean's range): a density that reads the range of a
    parameter, so channels whose means are bounded differently must not share one."""

    x: hs3jax.Observable
    mean: hs3jax.Ref
    sigma: hs3jax.Ref

    def log_prob(self, scope: Any) -> jax.Array:
        lo, hi = scope.ranges[self.mean]
        x, m, s = scope.value(self.x), scope.value(self.mean), scope.value(self.sigma)
        out: jax.Array = -0.5 * ((x - m) / s) ** 2 - jax.numpy.log(s * (hi - lo))
        return out


def test_channels_reading_their_parameter_ranges_stay_apart(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Where a density reads a parameter's range, channels with different ranges are evaluated
    apart: the grouped NLL equals the channel-by-channel one (one group would have read the
    first channel's range for all)."""
    from hs3jax import registry

    # registered for this test only (the error tests list every registered type)
    monkeypatch.setitem(registry._REGISTRY["distribution"], "test_mean_range_gaussian", None)
    hs3jax.register("test_mean_range_gaussian", replace=True)(_MeanRangeGaussian)
    doc = _with_channel_ranges(_channels_doc(6))
    for dist in doc["distributions"]:
        dist["type"] = "test_mean_range_gaussian"
    parsed = hs3jax.load(doc).document
    grouped = compile_model(parsed, vectorise_terms=True)
    one_by_one = compile_model(parsed, vectorise_terms=False)
    assert float(grouped.nll()) == pytest.approx(float(one_by_one.nll()), rel=1e-14)
    # with equal ranges the same channels do form one group
    equal = compile_model(hs3jax.load({**doc, "domains": _channels_doc(6)["domains"]}).document)
    assert equal.event_terms is not None and grouped.event_terms is None


def test_new_events_reuse_the_vectorised_program() -> None:
    model = _model(5)
    model.nll(model.init)
    events = [{**e, "weights": e["weights"] * 2.0} for e in model.data["events"]]
    with counting_compilations() as compiled:
        value = model.nll(model.init, {**model.data, "events": events})
    assert np.isfinite(float(value))
    assert compiled == []


# -- import ----------------------------------------------------------------------------------


def test_import_leaves_sympy_and_scipy_stats_alone() -> None:
    """``import hs3jax`` does not import sympy (only the symbolic side of ``hs3jax.expr``
    needs it) or ``scipy.stats`` (0.23 s and 0.4 s of a 1.9 s import); the sympy functions
    of ``hs3jax.expr`` load on first use."""
    code = (
        "import sys, hs3jax\n"
        "print(sorted(m for m in ('sympy', 'scipy.stats') if m in sys.modules))\n"
        "from hs3jax.expr import diff_sympy, parse\n"
        "print(diff_sympy(parse('x^3'), 'x'), 'sympy' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout.splitlines() == ["[]", "3*x**2 True"], done.stdout
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        hs3jax.expr.nothing  # noqa: B018


# -- building a model ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        ROOT / "tests" / "data" / "pyhf" / "multichannel_all_modifiers.json",
        ROOT / "hs3_examples" / "root_hf_staterror_gauss.json",
    ],
    ids=["pyhf", "hs3-histfactory"],
)
def test_building_a_model_compiles_nothing(path: Path) -> None:
    """Loading and building a model moves its arrays to the device without compiling: each
    ``jnp.asarray`` of a numpy array would compile a program of its own (eleven on a published
    likelihood, 0.18 of its 0.25 s build), as would running a bounded constraint's integral on
    probe arrays to see whether it has a closed form. In a fresh process, so that no earlier
    test has compiled those programs or the model's own (hs3jax keeps its programs per model
    structure, beyond ``jax.clear_caches``)."""
    code = (
        "import sys, json, numpy as np, jax, jax.monitoring, hs3jax\n"
        "seen = []\n"
        "jax.monitoring.register_event_duration_secs_listener(\n"
        f"    lambda e, d, **k: seen.append(e) if e == {_COMPILE!r} else None)\n"
        "model = hs3jax.load(sys.argv[1]).model()\n"
        "built = len(seen)\n"
        "model.nll(np.asarray(model.init))\n"
        "print(json.dumps([built, len(seen) - built]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    built, first_nll = json.loads(done.stdout.splitlines()[-1])
    assert built == 0
    assert first_nll == 2  # the templates' preparation and the NLL itself


# -- fits: one compiled program per structure -----------------------------------------------


def test_refit_of_a_rebuilt_model_compiles_nothing() -> None:
    """Models of one structure share their fit programs (value-and-gradient, Hessian): a fit
    of a second model built from the same file, with other fixed parameters, and Asimov-like
    data, compiles no new XLA program."""
    first = hs3jax.load(SIMPLE).model()
    hs3jax.fit(first)
    second = hs3jax.load(SIMPLE).model()
    assert second is not first
    with counting_compilations() as compiled:
        hs3jax.fit(second)
        hs3jax.fit(second, fixed={second.poi: 0.5})  # type: ignore[dict-item]
        toy = second.make_data(np.asarray(second.data["main"]) + 1.0)
        hs3jax.fit(second, data=toy)
    assert compiled == []


def test_first_hypotest_compiles_a_handful_of_programs() -> None:
    """A first hypotest compiles the fit programs, the Asimov derivatives and expected counts:
    a handful of programs, not one per primitive (144 when the Asimov derivatives ran op by op
    under ensure_compile_time_eval)."""
    model = hs3jax.load(
        ROOT / "tests" / "data" / "pyhf" / "multichannel_all_modifiers.json"
    ).model()
    with counting_compilations() as compiled:
        hs3jax.hypotest(model, 1.0)
    # value, gradient and Hessian in one program; Asimov derivatives; expected counts; the
    # templates' preparation (once per template set)
    assert len(compiled) <= 4, len(compiled)
    with counting_compilations() as again:
        hs3jax.hypotest(model, 0.5)
    assert again == []


# -- persistent compilation cache ---------------------------------------------------------------

_CHILD = """
import json, sys, warnings
import jax, jax.monitoring
hits, traced = [], []
jax.monitoring.register_event_listener(
    lambda e, **k: hits.append(e) if e == "/jax/compilation_cache/cache_hits" else None)
jax.monitoring.register_event_duration_secs_listener(
    lambda e, d, **k: traced.append(e) if e == "/jax/core/compile/jaxpr_trace_duration" else None)
import hs3jax
model = hs3jax.load(sys.argv[1]).model()
traced.clear()
res = hs3jax.fit(model)
test = hs3jax.hypotest(model, 1.0)
n_traced = len(traced)
# under a transformation the stored programs step aside for jax.jit
with jax.enable_x64(True):
    grad = [float(v) for v in jax.grad(lambda p: model.nll(p))(model.init)]
print(json.dumps({"hits": len(hits), "traced": n_traced, "grad": grad,
                  "cache_dir": str(hs3jax.compilation_cache_dir()), "nll": res.nll,
                  "x": [float(v) for v in res.x], "cls": float(test.CLs_obs)}))
"""


def _child(cache: Path, file: Path = SIMPLE) -> dict[str, Any]:
    env = {**os.environ, "HS3JAX_CACHE_DIR": str(cache)}
    src = str(ROOT / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(file)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_second_process_hits_the_persistent_cache(tmp_path: Path) -> None:
    """A second process loads the programs of its fit and hypotest from the cache: those
    stored by model structure without tracing them (hs3jax.cache.stored_jit), the others
    from JAX's cache; same results to the last bit."""
    cache = tmp_path / "xla"
    first = _child(cache)
    assert first["cache_dir"] == str(cache.resolve())
    assert first["hits"] == 0 and first["traced"] >= 3
    assert first["grad"] and all(np.isfinite(first["grad"]))
    stored = sorted((cache / "hs3jax-programs").iterdir())
    assert len(stored) >= 3, "the fit's and hypotest's programs were not stored"
    second = _child(cache)
    assert second["traced"] == 0, second
    assert second["grad"] == first["grad"]
    assert (second["nll"], second["x"], second["cls"]) == (first["nll"], first["x"], first["cls"])
    # a damaged entry is compiled afresh, with the same results
    for entry in stored:
        entry.write_bytes(b"not an executable")
    third = _child(cache)
    assert third["traced"] >= 3
    assert (third["nll"], third["x"], third["cls"]) == (first["nll"], first["x"], first["cls"])


def test_stored_program_keys_hold_user_node_sources(tmp_path: Path) -> None:
    """Programs of models with user-registered nodes are keyed by the nodes' source: an edited
    node class gets new programs, a class without readable source gets none stored."""
    from hs3jax.cache import source_digest

    module = tmp_path / "my_nodes_v1.py"
    module.write_text("class Node:\n    scale = 1.0\n")
    edited = tmp_path / "my_nodes_v2.py"
    edited.write_text("class Node:\n    scale = 2.0\n")
    sys.path.insert(0, str(tmp_path))
    try:
        import my_nodes_v1  # type: ignore[import-not-found]
        import my_nodes_v2  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(tmp_path))
    one, two = source_digest([my_nodes_v1.Node]), source_digest([my_nodes_v2.Node])
    assert one is not None and two is not None and one != two
    assert source_digest([my_nodes_v1.Node]) == one
    # a class with no source file, as one defined in a notebook cell
    assert source_digest([type("Node", (), {"__module__": "interactive"})]) is None
    # hs3jax's own classes are covered by the code version, not listed
    assert source_digest([hs3jax.Model]) == source_digest([])


def test_cache_is_off_unless_asked() -> None:
    if os.environ.get("HS3JAX_CACHE_DIR"):
        pytest.skip("HS3JAX_CACHE_DIR is set in this environment")
    assert hs3jax.compilation_cache_dir() is None


# -- Hessian of unbinned channels through their values (EventTerms) ---------------------------


def _event_split_doc() -> dict[str, Any]:
    """Grouped generic_dist channels whose yields are nonlinear functions (μ² n_k), plus one
    exponential channel of its own structure (an ungrouped term of ``rest``) sharing μ."""
    doc = _channels_doc(4, extended=True, generic=True)
    doc["functions"] = [
        {"name": f"nu{k}", "type": "generic_function", "expression": f"mu * mu * n{k}"}
        for k in range(4)
    ]
    for dist in doc["distributions"]:
        if dist["type"] == "mixture_dist":
            dist["coefficients"] = [f"nu{dist['name'][3:]}"]
    doc["distributions"] += [
        {"name": "expo", "type": "exponential_dist", "x": "xe", "c": "c"},
        {
            "name": "pdfE",
            "type": "mixture_dist",
            "summands": ["expo"],
            "coefficients": ["nuE"],
            "extended": True,
        },
    ]
    doc["functions"].append({"name": "nuE", "type": "generic_function", "expression": "8 * mu"})
    doc["data"].append(
        {
            "name": "dE",
            "type": "unbinned",
            "axes": [{"name": "xe", "min": 0.0, "max": 4.0}],
            "entries": [[0.1], [0.7], [1.3], [0.2], [2.5], [0.05], [0.9]],
        }
    )
    doc["likelihoods"][0]["distributions"].append("pdfE")
    doc["likelihoods"][0]["data"].append("dE")
    pars = doc["parameter_points"][0]["parameters"]
    pars += [{"name": "mu", "value": 1.1}, {"name": "c", "value": 0.8}]
    return doc


@pytest.mark.parametrize("elements", [None, 1], ids=["one-step", "member-by-member"])
def test_event_split_hessian_equals_jax_hessian(
    elements: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hs3jax.term_groups
    from hs3jax.infer.hessian import event_split_hessian
    from hs3jax.infer.minimize import objective

    if elements is not None:  # one member per lax.map step
        monkeypatch.setattr(hs3jax.term_groups, "_HESSIAN_ELEMENTS", elements)
    model = hs3jax.load(_event_split_doc()).model()
    terms = model.event_terms
    assert terms is not None
    rng = np.random.default_rng(3)
    with jax.enable_x64(True):
        pars = model.init * (1.0 + 0.05 * rng.standard_normal(len(model.init)))
        prepared = model.prepare_fn(model.inputs)
        split = jax.jit(event_split_hessian(terms, rest_batch=2))(pars, model.data, prepared)
        full = jax.jit(jax.hessian(model.nll_fn))(pars, model.data, model.inputs)
        np.testing.assert_allclose(np.asarray(split), np.asarray(full), rtol=1e-11, atol=1e-11)
        # the split is a decomposition of the same −ln L
        aux, events = model.data["aux"], model.data["events"]
        whole = terms.rest_fn(pars, model.data, prepared) + terms.nll_fn(
            terms.values_fn(pars, aux), events
        )
        assert float(whole) == pytest.approx(float(model.nll(pars)), rel=1e-14)
    # fits of such models use it, with no fused value-gradient-Hessian program
    obj = objective(model)
    assert obj.value_grad_hessian is None
    with jax.enable_x64(True):
        np.testing.assert_allclose(
            np.asarray(obj.hessian(pars, model.data, obj.prepare(model.inputs))),
            np.asarray(full),
            rtol=1e-11,
        )


def test_members_per_hessian_step_divide_the_members() -> None:
    from hs3jax.term_groups import _divisor_batch

    assert _divisor_batch(100, 93) == 50  # no remainder step (a second program copy)
    assert _divisor_batch(30, 1000) == 30
    assert _divisor_batch(30, 0) == 1
    assert _divisor_batch(31, 16) == 16  # a prime: its divisors are too small, keep the target


# -- Hessian in blocks; Asimov global observables from the constraint terms -----------------


def test_blocked_hessian_equals_jax_hessian() -> None:
    """Rows of Hessian-vector products in blocks (a last block padded with zero directions)
    give jax.hessian's matrix; the block size bounds the memory of large models."""
    from hs3jax.infer.hessian import blocked_hessian, hessian_batch

    model = hs3jax.load(
        ROOT / "tests" / "data" / "pyhf" / "multichannel_all_modifiers.json"
    ).model()
    n = len(model.parameters)
    rng = np.random.default_rng(3)
    with jax.enable_x64(True):
        x = np.asarray(model.init) + 0.05 * rng.uniform(-1, 1, n)
        args = (jax.numpy.asarray(x), model.data, model.inputs)
        exact = np.asarray(jax.jit(jax.hessian(model.nll_fn))(*args))
        for batch in (5, 7, n):
            blocked = np.asarray(jax.jit(blocked_hessian(model.nll_fn, batch))(*args))
            np.testing.assert_allclose(blocked, exact, rtol=1e-12, atol=1e-12 * np.abs(exact).max())
    assert hessian_batch(n, model.inputs) == n  # small: all directions at once
    big = {"nominal": np.zeros(50_000)}
    batch = hessian_batch(2277, big)
    assert batch * 50_000 <= 2 * (1 << 23) and -(-2277 // batch) * batch - 2277 < batch


def test_hessian_blocks_fit_the_cache_where_all_tangents_would_not() -> None:
    """Where n tangents of the widest array −ln L reads exceed 2 MiB (ATLAS-SUSY-2018-16:
    191 parameters × 3,839 normsys entries), the Hessian goes in blocks of ~512 KiB of
    tangents; below that line, and for arrays that are not 1-D, all directions at once."""
    from hs3jax.infer.hessian import hessian_batch

    small = {"nominal": np.zeros(10)}
    assert hessian_batch(191, small, ({"entries": np.zeros(1_000)},)) == 191  # 1.5 MB
    assert hessian_batch(191, small, ({"matrix": np.zeros((600, 100))},)) == 191  # 2-D
    entries = jax.ShapeDtypeStruct((3_839,), np.float64)
    batch = hessian_batch(191, small, ({"entries": entries}, {"main": np.zeros(38)}))
    assert batch * 3_839 * 8 <= 1 << 19 and batch >= 8
    assert -(-191 // batch) * batch - 191 < batch  # equal blocks, short padding
    # very wide arrays: no fewer than 8 directions per block
    assert hessian_batch(2277, small, ({"entries": np.zeros(15_000)},)) >= 8


def test_value_grad_hessian_in_blocks_equals_forward_over_reverse() -> None:
    """The fused program of a model with cache-sized Hessian blocks gives the value and
    gradient of −ln L and the Hessian of one forward-over-reverse pass (to rounding)."""
    from hs3jax.infer.hessian import value_grad_hessian

    model = hs3jax.load(
        ROOT / "tests" / "data" / "pyhf" / "multichannel_all_modifiers.json"
    ).model()
    n = len(model.parameters)
    rng = np.random.default_rng(5)
    with jax.enable_x64(True):
        x = np.asarray(model.init) + 0.05 * rng.uniform(-1, 1, n)
        args = (jax.numpy.asarray(x), model.data, model.prepared_inputs())
        f0, g0, h0 = (
            np.asarray(v) for v in jax.jit(value_grad_hessian(model.prepared_nll_fn))(*args)
        )
        for batch in (4, 9, n):
            f, g, h = (
                np.asarray(v)
                for v in jax.jit(value_grad_hessian(model.prepared_nll_fn, batch))(*args)
            )
            np.testing.assert_allclose(f, f0, rtol=1e-15)
            np.testing.assert_allclose(g, g0, rtol=1e-13, atol=1e-13 * np.abs(g0).max())
            np.testing.assert_allclose(h, h0, rtol=1e-12, atol=1e-12 * np.abs(h0).max())
        # all directions in one block: the forward-over-reverse program itself, bit for bit
        np.testing.assert_array_equal(h, h0)


@pytest.mark.parametrize(
    "path",
    [
        ROOT / "tests" / "data" / "pyhf" / "multichannel_all_modifiers.json",
        ROOT / "tests" / "data" / "root_hf" / "hf_shapesys_lumi.json",  # explicit globals
    ],
)
def test_asimov_global_observables_come_from_the_constraint_terms(path: Path) -> None:
    """The derivatives of −ln L in the global observables (from which the Asimov global
    observables are read) equal those of the constraint terms alone, and their program leaves
    the main measurement out (it was the whole −ln L, 1.5 s to compile on ATLAS-SUSY-2018-31)."""
    from dataclasses import replace

    from hs3jax.infer.asimov import _aux_derivatives, _other_data

    model = hs3jax.load(path).model()
    assert model.constraint_nll_fn is not None
    whole = replace(model, constraint_nll_fn=None)
    with jax.enable_x64(True):
        pars = jax.numpy.asarray(model.init) * 1.01
        aux = jax.numpy.asarray(model.data["aux"]) + 0.1
        args = (pars, aux, model.inputs, _other_data(model))
        g1, h1 = _aux_derivatives(model, *args)
        g2, h2 = _aux_derivatives(whole, *args)
        np.testing.assert_allclose(np.asarray(g1), np.asarray(g2), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(np.asarray(h1), np.asarray(h2), rtol=1e-12, atol=1e-12)
        small = jax.make_jaxpr(lambda *a: _aux_derivatives(model, *a))(*args)
        large = jax.make_jaxpr(lambda *a: _aux_derivatives(whole, *a))(*args)
    # the observed main counts are an input of the program; only the whole −ln L reads them
    leaves = jax.tree_util.tree_leaves(args)
    main_at = next(i for i, v in enumerate(leaves) if v is args[3]["main"])

    def reads_main(closed: Any) -> bool:
        var = closed.jaxpr.invars[main_at]
        return any(var in e.invars for e in closed.jaxpr.eqns)

    assert reads_main(large) and not reads_main(small)
    assert len(small.eqns) < len(large.eqns)


@pytest.mark.parametrize("test_stat", ["qtilde", "q", "q0"])
def test_cls_formulas_on_host_floats_equal_the_jax_versions(test_stat: str) -> None:
    """The asymptotic formulas run on numpy for host floats (no compilation) and on JAX
    arrays under transformations; both give the same numbers."""
    from hs3jax.infer.asymptotics import asymptotic_teststat, cls_expected, cls_observed
    from hs3jax.infer.teststat import q0_from, qmu_from, tmu_from

    jnp = jax.numpy
    with jax.enable_x64(True):
        for nll_fixed, nll_free, mu_hat, qa in [(3.2, 1.1, 0.4, 2.5), (1.0, 1.0, 1.3, 0.7)]:
            host_t = tmu_from(nll_fixed, nll_free)
            jax_t = tmu_from(jnp.asarray(nll_fixed), jnp.asarray(nll_free))
            assert isinstance(host_t, np.floating | float) and isinstance(jax_t, jax.Array)
            if test_stat == "q0":
                host_q, jax_q = q0_from(host_t, mu_hat), q0_from(jax_t, jnp.asarray(mu_hat))
            else:
                host_q, jax_q = (
                    qmu_from(host_t, mu_hat, 1.0),
                    qmu_from(jax_t, jnp.asarray(mu_hat), 1.0),
                )
            np.testing.assert_allclose(host_q, np.asarray(jax_q), rtol=1e-15)
            host = cls_observed(asymptotic_teststat(host_q, qa, test_stat), qa)
            on_jax = cls_observed(
                asymptotic_teststat(jax_q, jnp.asarray(qa), test_stat), jnp.asarray(qa)
            )
            np.testing.assert_allclose(np.asarray(host), np.asarray(on_jax), rtol=1e-14)
            np.testing.assert_allclose(
                np.asarray(cls_expected(qa)), np.asarray(cls_expected(jnp.asarray(qa))), rtol=1e-14
            )


def test_small_newton_fit_compiles_one_program() -> None:
    """A first Newton fit of a small model compiles one program for its steps (value,
    gradient and Hessian together), whose minimum and Hessian are those of the separate
    programs, and one that prepares the templates."""
    from hs3jax.infer.minimize import objective

    path = ROOT / "tests" / "data" / "pyhf" / "multichannel_all_modifiers.json"
    spec = json.loads(path.read_text())
    # a structure no other test compiles: the first channel alone
    kept = spec["channels"][0]["name"]
    spec["channels"] = spec["channels"][:1]
    spec["observations"] = [o for o in spec["observations"] if o["name"] == kept]
    model = hs3jax.load(spec).model()
    with counting_compilations() as compiled:
        obj = objective(model)
        result = hs3jax.fit(model)
    assert obj.value_grad_hessian is not None
    assert result.method == "newton" and result.success
    # the fit's program and the templates' preparation (Model.prepare_fn)
    assert len(compiled) == 2
    with jax.enable_x64(True):
        args = (jax.numpy.asarray(result.x), model.data, model.inputs)
        f = jax.jit(model.nll_fn)(*args)
        h = np.asarray(jax.jit(jax.hessian(model.nll_fn))(*args))
        fused = np.asarray(obj.hessian(*args[:2], obj.prepare(model.inputs)))  # the covariance's
    assert abs(float(f) - result.nll) <= 1e-12 * abs(result.nll)
    np.testing.assert_allclose(fused, h, rtol=1e-12, atol=1e-12 * np.abs(h).max())


# -- dense histosys groups: one matrix product -------------------------------------------------


def test_dense_and_sparse_histosys_give_the_same_likelihood(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The matrix-product form of histosys shifts (basis functions of α times coefficients of
    the templates) gives the NLL and the gradients (in parameters and templates) of the
    sparse form, on a published likelihood whose histosys group is dense."""
    import hs3jax.nodes.histfactory.lower as lower

    path = ROOT / "tests" / "data" / "likelihoods" / "ATLAS-SUSY-2018-31__BkgOnlyA.json"
    models = {}
    for fill in (2.0, 0.0):  # no group dense / every group dense
        monkeypatch.setattr(lower, "DENSE_MIN_FILL", fill)
        # the fingerprint of compiled programs does not hold the fill: compile afresh
        monkeypatch.setattr("hs3jax.compile._PROGRAMS", {})
        models[fill] = hs3jax.load(path).model()
        groups = _hf_program(models[fill])._histosys
        assert groups and all((g.dense is not None) == (fill == 0.0) for g in groups)
    sparse, dense = models[2.0], models[0.0]
    rng = np.random.default_rng(11)
    with jax.enable_x64(True):
        for _ in range(3):
            x = np.asarray(sparse.init) + rng.normal(scale=1.3, size=len(sparse.parameters))
            x = np.clip(x, *np.asarray(sparse.bounds).T)
            args = (jax.numpy.asarray(x), sparse.data, sparse.inputs)
            f0, g0 = jax.value_and_grad(sparse.nll_fn, argnums=(0, 2))(*args)
            f1, g1 = jax.value_and_grad(dense.nll_fn, argnums=(0, 2))(*args)
            assert abs(float(f1) - float(f0)) <= 1e-12 * abs(float(f0))
            for a, b in zip(
                jax.tree_util.tree_leaves(g0), jax.tree_util.tree_leaves(g1), strict=True
            ):
                np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(
    "file",
    [
        "tests/data/pyhf/multichannel_all_modifiers.json",
        "tests/data/likelihoods/ATLAS-SUSY-2018-31__BkgOnlyA.json",
    ],
)
def test_prepared_templates_give_the_same_likelihood(file: str) -> None:
    """−ln L from the prepared templates (Model.prepare_fn once, then prepared_nll_fn) is
    nll_fn to the last bit, in value and gradient; Model.nll of the model's own templates
    takes that path."""
    model = hs3jax.load(ROOT / file).model()
    rng = np.random.default_rng(5)
    with jax.enable_x64(True):
        prepared = jax.jit(model.prepare_fn)(model.inputs)
        x = np.asarray(model.init) + rng.normal(scale=0.4, size=len(model.parameters))
        x = jax.numpy.asarray(np.clip(x, *np.asarray(model.bounds).T))
        f0, g0 = jax.jit(jax.value_and_grad(model.nll_fn))(x, model.data, model.inputs)
        f1, g1 = jax.jit(jax.value_and_grad(model.prepared_nll_fn))(x, model.data, prepared)
        assert float(f1) == float(f0)
        np.testing.assert_array_equal(np.asarray(g1), np.asarray(g0))
        assert float(model.nll(x)) == float(model.nll(x, inputs=model.inputs)) == float(f0)


def test_model_with_prepare_fn_needs_its_prepared_nll_fn() -> None:
    """A Model built by hand with a prepare_fn and no prepared_nll_fn is refused: nll_fn, the
    default, would be handed prepared templates it cannot read."""
    import dataclasses

    from hs3jax.errors import ModelError

    model = hs3jax.load(SIMPLE).model()
    fields = {
        f.name: getattr(model, f.name)
        for f in dataclasses.fields(model)
        if f.init and f.name != "prepared_nll_fn"
    }
    with pytest.raises(ModelError, match="prepared_nll_fn"):
        hs3jax.Model(**fields)
    # without a prepare_fn the NLL serves both
    fields.pop("prepare_fn")
    plain = hs3jax.Model(**fields)
    assert plain.prepared_nll_fn is plain.nll_fn


def test_dense_histosys_matrix_is_read_in_place() -> None:
    """The value and gradient of −ln L read the prepared dense histosys matrix as it lies in
    memory: no transposed copy of it per call (an einsum over two axes made XLA copy it twice,
    ~60 µs per call on ATLAS-SUSY-2018-05)."""
    path = ROOT / "tests" / "data" / "likelihoods" / "ATLAS-SUSY-2018-31__BkgOnlyA.json"
    model = hs3jax.load(path).model()
    with jax.enable_x64(True):
        prepared = jax.jit(model.prepare_fn)(model.inputs)
        (matrix,) = [m for m in prepared["histfactory"]["histosys"] if not isinstance(m, tuple)]
        args = (model.init, model.data, prepared)
        hlo = jax.jit(jax.value_and_grad(model.prepared_nll_fn)).lower(*args).compile().as_text()
    shapes = {f"f64[{a},{b}]" for a, b in (matrix.shape, matrix.shape[::-1])}
    copies = [
        line
        for line in hlo.splitlines()
        if (" copy(" in line or " transpose(" in line)
        and "= f64[" in line
        and int(np.prod([int(d) for d in line.split("= f64[")[1].split("]")[0].split(",")]))
        == matrix.size
    ]
    assert matrix.ndim == 2 and not copies, (shapes, copies)


def _hf_program(model: Any) -> Any:
    from hs3jax.nodes.histfactory.lower import HistFactoryProgram

    # the program is held by the closures nll_fn calls: search them breadth first
    queue, seen = [model.nll_fn], set()
    while queue:
        fn = queue.pop(0)
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        for cell in getattr(fn, "__closure__", None) or ():
            content = cell.cell_contents
            if isinstance(content, HistFactoryProgram):
                return content
            if callable(content):
                queue.append(content)
    raise AssertionError("no HistFactory program")


@pytest.mark.parametrize("code", ["1", "2", "5"])
def test_basis_form_refuses_codes_without_one(code: str) -> None:
    """Only codes 0 and 4 are linear in the templates; the others are refused by name."""
    from hs3jax.nodes.histfactory.interpolation import additive_basis, additive_coefficients

    one = np.ones(3)
    with pytest.raises(ValueError, match=f"interpolation code '{code}' has no basis form"):
        additive_basis(code, one)
    with pytest.raises(ValueError, match=f"interpolation code '{code}' has no basis form"):
        additive_coefficients(code, one, one, one)
