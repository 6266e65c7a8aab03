"""Malformed HS3 and pyhf JSON: every error names the file, the JSON path, what was expected and
what was found, lists the known types where a type is unknown, and comes without a chained
pydantic or JAX traceback.

Each test builds a small valid document, breaks one thing and checks the exception class and the
message. Documents written to ``tmp_path`` check that the file name leads the message.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import hs3jax
from hs3jax import (
    CycleError,
    DocumentError,
    DuplicateNameError,
    FormatError,
    MissingReferenceError,
    ModelError,
    UnknownTypeError,
)

DIST_TYPES = ", ".join(hs3jax.known_types("distribution"))
FUNC_TYPES = ", ".join(hs3jax.known_types("function"))
MODIFIER_TYPES = "histosys, lumi, normfactor, normsys, shapefactor, shapesys, staterror"
PYHF_MODIFIER_TYPES = "histosys, lumi, normfactor, normsys, shapefactor, shapesys, staterror"


# -- valid documents, broken one thing at a time ---------------------------------------------


def hs3_doc() -> dict[str, Any]:
    """One Gaussian density on unbinned data, one likelihood, one analysis."""
    return {
        "metadata": {"hs3_version": "0.2"},
        "distributions": [
            {"name": "g", "type": "gaussian_dist", "x": "x", "mean": "mu", "sigma": 1.0}
        ],
        "data": [
            {
                "name": "d",
                "type": "unbinned",
                "axes": [{"name": "x", "min": -5.0, "max": 5.0}],
                "entries": [[0.1], [0.2]],
            }
        ],
        "likelihoods": [{"name": "L", "distributions": ["g"], "data": ["d"]}],
        "analyses": [{"name": "A", "likelihood": "L", "parameters_of_interest": ["mu"]}],
    }


def hf_doc() -> dict[str, Any]:
    """One two-bin HistFactory channel: signal (normfactor) and background (histosys at
    modifiers[0], shapesys at modifiers[1], normsys at modifiers[2])."""
    axis = {"name": "obs", "min": 0.0, "max": 2.0, "nbins": 2}
    return {
        "distributions": [
            {
                "name": "ch",
                "type": "histfactory_dist",
                "axes": [axis],
                "samples": [
                    {
                        "name": "sig",
                        "data": {"contents": [1.0, 2.0]},
                        "modifiers": [{"name": "mu", "type": "normfactor", "parameter": "mu"}],
                    },
                    {
                        "name": "bkg",
                        "data": {"contents": [5.0, 6.0]},
                        "modifiers": [
                            {
                                "name": "np",
                                "type": "histosys",
                                "parameter": "alpha_np",
                                "data": {
                                    "hi": {"contents": [6.0, 7.0]},
                                    "lo": {"contents": [4.0, 5.0]},
                                },
                            },
                            {
                                "name": "ss",
                                "type": "shapesys",
                                "parameters": ["gamma_ss_0", "gamma_ss_1"],
                                "data": {"vals": [0.1, 0.2]},
                            },
                            {
                                "name": "ns",
                                "type": "normsys",
                                "parameter": "alpha_ns",
                                "data": {"hi": 1.1, "lo": 0.9},
                            },
                        ],
                    },
                ],
            }
        ],
        "data": [{"name": "obs_ch", "type": "binned", "axes": [axis], "contents": [6.0, 8.0]}],
        "likelihoods": [{"name": "L", "distributions": ["ch"], "data": ["obs_ch"]}],
    }


def pyhf_ws() -> dict[str, Any]:
    """A pyhf workspace: one two-bin channel, signal (normfactor mu) and background (normsys
    at modifiers[0], shapesys at modifiers[1])."""
    return {
        "channels": [
            {
                "name": "ch",
                "samples": [
                    {
                        "name": "sig",
                        "data": [1.0, 2.0],
                        "modifiers": [{"name": "mu", "type": "normfactor", "data": None}],
                    },
                    {
                        "name": "bkg",
                        "data": [5.0, 6.0],
                        "modifiers": [
                            {"name": "ns", "type": "normsys", "data": {"hi": 1.1, "lo": 0.9}},
                            {"name": "ss", "type": "shapesys", "data": [0.5, 0.6]},
                        ],
                    },
                ],
            }
        ],
        "observations": [{"name": "ch", "data": [6.0, 8.0]}],
        "measurements": [{"name": "meas", "config": {"poi": "mu", "parameters": []}}],
        "version": "1.0.0",
    }


HF_BKG = "$.distributions[0].samples[1]"
PYHF_BKG = "$.channels[0].samples[1]"


def write(tmp_path: Path, name: str, content: Any) -> Path:
    path = tmp_path / name
    text = content if isinstance(content, str) else json.dumps(content)
    path.write_text(text, encoding="utf-8")
    return path


def raises(cls: type[Exception], action: Callable[[], Any], *parts: str) -> str:
    """Run ``action``; check it raises exactly ``cls`` without a chained traceback and that the
    message contains every one of ``parts``. Returns the message."""
    with pytest.raises(cls) as info:
        action()
    exc = info.value
    assert type(exc) is cls, f"raised {type(exc).__name__}, expected {cls.__name__}: {exc}"
    assert exc.__cause__ is None and (exc.__context__ is None or exc.__suppress_context__), (
        f"{cls.__name__} chained to {exc.__context__!r}"
    )
    message = str(exc)
    for part in parts:
        assert part in message, f"{part!r} not in message:\n{message}"
    return message


def load(doc: Any) -> hs3jax.Workspace:
    return hs3jax.load(doc)


def model(doc: Any, name: str | None = None) -> hs3jax.Model:
    return hs3jax.load(doc).model(name)


# -- the documents above are valid --------------------------------------------------------------


@pytest.mark.parametrize("make", [hs3_doc, hf_doc, pyhf_ws])
def test_base_documents_are_valid(make: Callable[[], dict[str, Any]]) -> None:
    m = model(make())
    assert bool(m.nll(m.init) == m.nll(m.init))  # finite, no error


# -- not JSON, not a workspace --------------------------------------------------------------------


def test_not_json_text() -> None:
    raises(
        FormatError,
        lambda: load('{"distributions": [1,'),
        "<document>: at $: not valid JSON",
        "line 1, column",
        "expected JSON text",
        "found '\"distributions\": [1,'",
    )


def test_not_json_file(tmp_path: Path) -> None:
    path = write(tmp_path, "notes.json", "hello world")
    message = raises(
        FormatError,
        lambda: load(path),
        "not valid JSON",
        "expected JSON text",
        "found 'hello world'",
    )
    assert message.startswith(f"{path}: at $: ")


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.json"
    raises(FormatError, lambda: load(path), f"{path}: at $: no such file", "an existing JSON file")


def test_top_level_array() -> None:
    raises(
        FormatError,
        lambda: load("[1, 2]"),
        "<document>: at $: a workspace must be a JSON object",
        "expected an HS3 or pyhf JSON object",
        "found 'list'",
    )


def test_neither_hs3_nor_pyhf() -> None:
    raises(
        FormatError,
        lambda: load({"foo": 1, "bar": []}),
        "<document>: at $: cannot tell the format",
        "expected an HS3 document",
        "or a pyhf workspace ('channels', 'observations', 'measurements')",
        "found ['bar', 'foo']",
    )


def test_neither_hs3_nor_pyhf_file(tmp_path: Path) -> None:
    path = write(tmp_path, "other.json", {"schema": "something else"})
    message = raises(FormatError, lambda: load(path), "cannot tell the format", "found ['schema']")
    assert message.startswith(f"{path}: at $: ")


# -- unknown and missing types ----------------------------------------------------------------


def test_unknown_distribution_type_close_match() -> None:
    doc = hs3_doc()
    doc["distributions"][0]["type"] = "gausian_dist"
    raises(
        UnknownTypeError,
        lambda: load(doc),
        "<document>: at $.distributions[0].type: unknown distribution type 'gausian_dist'",
        "(in distribution 'g')",
        "expected a registered distribution type",
        "found 'gausian_dist'",
        f"Known: {DIST_TYPES}.",
        "Did you mean 'gaussian_dist'?",
    )


def test_unknown_distribution_type_in_file(tmp_path: Path) -> None:
    doc = hs3_doc()
    doc["distributions"].append({"name": "p", "type": "poison_dist", "x": "n", "mean": 3.0})
    path = write(tmp_path, "model_with_typo.json", doc)
    message = raises(
        UnknownTypeError,
        lambda: load(path),
        "at $.distributions[1].type: unknown distribution type 'poison_dist'",
        f"Known: {DIST_TYPES}",
        "Did you mean 'poisson_dist'?",
    )
    assert message.startswith(f"{path}: at $.distributions[1].type: ")


def test_unknown_distribution_type_without_close_match() -> None:
    doc = hs3_doc()
    doc["distributions"][0]["type"] = "zzz"
    message = raises(
        UnknownTypeError,
        lambda: load(doc),
        "at $.distributions[0].type",
        "found 'zzz'",
        f"Known: {DIST_TYPES}",
    )
    assert "Did you mean" not in message


def test_unknown_function_type() -> None:
    doc = hs3_doc()
    doc["functions"] = [{"name": "f", "type": "summ", "summands": ["mu", 1.0]}]
    raises(
        UnknownTypeError,
        lambda: load(doc),
        "<document>: at $.functions[0].type: unknown function type 'summ' (in function 'f')",
        "expected a registered function type",
        "found 'summ'",
        f"Known: {FUNC_TYPES}.",
        "Did you mean 'sum'?",
    )


def test_node_without_type() -> None:
    doc = hs3_doc()
    del doc["distributions"][0]["type"]
    raises(
        DocumentError,
        lambda: load(doc),
        "<document>: at $.distributions[0].type: distribution 'g' has no 'type'",
        "expected a type string",
        "found None",
        f"Known: {DIST_TYPES}",
    )


def test_unknown_data_type() -> None:
    doc = hs3_doc()
    doc["data"][0]["type"] = "binnned"
    raises(
        UnknownTypeError,
        lambda: load(doc),
        "at $.data[0].type: unknown data type 'binnned'",
        "found 'binnned'",
        "Known: binned, point, unbinned.",
        "Did you mean 'binned'?",
    )


# -- fields --------------------------------------------------------------------------------------


def test_missing_required_field() -> None:
    doc = hs3_doc()
    del doc["distributions"][0]["sigma"]
    raises(
        DocumentError,
        lambda: load(doc),
        "<document>: at $.distributions[0]: missing required key 'sigma'",
        "expected key 'sigma'",
    )


def test_function_missing_required_field() -> None:
    doc = hs3_doc()
    doc["functions"] = [{"name": "f", "type": "sum"}]
    raises(
        DocumentError,
        lambda: load(doc),
        "at $.functions[0]: missing required key 'summands'",
        "expected key 'summands'",
    )


@pytest.mark.parametrize("bad", [[1.0, 2.0], {"value": 1.0}])
def test_wrong_field_type(bad: Any) -> None:
    doc = hs3_doc()
    doc["distributions"][0]["sigma"] = bad
    message = raises(
        DocumentError,
        lambda: load(doc),
        # the path is the JSON path: no pydantic union tag (".str", ".float") appended
        "<document>: at $.distributions[0].sigma: ",
        "expected a string or a number",
        f"found {bad!r}",
    )
    assert "$.distributions[0].sigma.str" not in message
    assert "$.distributions[0].sigma.float" not in message


def test_distributions_not_a_list() -> None:
    doc = hs3_doc()
    doc["distributions"] = {"g": doc["distributions"][0]}
    raises(
        DocumentError,
        lambda: load(doc),
        "<document>: at $.distributions: section 'distributions' must be a list",
        "expected a list",
        "found {'g': {",
    )


def test_distribution_entry_not_an_object() -> None:
    doc = hs3_doc()
    doc["distributions"].append("g2")
    raises(
        DocumentError,
        lambda: load(doc),
        "at $.distributions[1]: each entry of 'distributions' must be an object",
        "expected an object with 'name' and 'type'",
        "found 'g2'",
    )


def test_misc_not_an_object() -> None:
    doc = hs3_doc()
    doc["misc"] = [1, 2]
    raises(DocumentError, lambda: load(doc), "at $.misc: ", "expected an object", "found [1, 2]")


def test_likelihood_not_an_object() -> None:
    doc = hs3_doc()
    doc["likelihoods"] = ["L"]
    raises(
        DocumentError, lambda: load(doc), "at $.likelihoods[0]: ", "expected an object", "found 'L'"
    )


# -- references and names ---------------------------------------------------------------------


def test_duplicate_node_names() -> None:
    doc = hs3_doc()
    doc["functions"] = [{"name": "g", "type": "sum", "summands": ["mu", 1.0]}]
    raises(
        DuplicateNameError,
        lambda: model(doc),
        "<document>: at $.functions[0].name: name 'g' is used twice (first at distributions[0])",
        "expected a unique name",
        "found 'g'",
    )


def test_duplicate_node_names_in_file(tmp_path: Path) -> None:
    doc = hs3_doc()
    doc["distributions"].append(dict(doc["distributions"][0]))
    path = write(tmp_path, "twice.json", doc)
    message = raises(
        DuplicateNameError, lambda: model(path), "at $.distributions[1].name", "found 'g'"
    )
    assert message.startswith(f"{path}: ")


def test_likelihood_missing_distribution() -> None:
    doc = hs3_doc()
    doc["likelihoods"][0]["distributions"] = ["gg"]
    raises(
        MissingReferenceError,
        lambda: model(doc),
        "<document>: at $.likelihoods[0].distributions[0]: likelihood 'L' refers to "
        "distribution 'gg', which does not exist",
        "expected the name of a distribution",
        "found 'gg'",
        "Known: g.",
        "Did you mean 'g'?",
    )


def test_likelihood_missing_dataset() -> None:
    doc = hs3_doc()
    doc["likelihoods"][0]["data"] = ["dd"]
    raises(
        MissingReferenceError,
        lambda: model(doc),
        "<document>: at $.likelihoods[0].data[0]: likelihood 'L' refers to dataset 'dd'",
        "expected the name of an entry of 'data'",
        "found 'dd'",
        "Known: d.",
        "Did you mean 'd'?",
    )


def test_likelihood_count_mismatch() -> None:
    doc = hs3_doc()
    doc["likelihoods"][0]["data"] = ["d", "d"]
    raises(
        DocumentError,
        lambda: load(doc),
        "<document>: at $.likelihoods[0].data: likelihood 'L' has 1 distributions but 2 data",
        "expected 1 entries (one per distribution)",
        "found ['d', 'd']",
    )


def test_product_dist_missing_factor() -> None:
    doc = hs3_doc()
    doc["distributions"].append({"name": "p", "type": "product_dist", "factors": ["g", "h"]})
    doc["likelihoods"][0]["distributions"] = ["p"]
    raises(
        MissingReferenceError,
        lambda: model(doc),
        "<document>: at $.distributions[1].factors[1]: product_dist 'p' refers to "
        "distribution 'h', which does not exist",
        "expected the name of a distribution",
        "found 'h'",
        "Known: g, p",
    )


def test_product_dist_factor_is_a_function() -> None:
    doc = hs3_doc()
    doc["functions"] = [{"name": "f", "type": "sum", "summands": ["mu", 1.0]}]
    doc["distributions"].append({"name": "p", "type": "product_dist", "factors": ["g", "f"]})
    doc["likelihoods"][0]["distributions"] = ["p"]
    raises(
        DocumentError,
        lambda: model(doc),
        "at $.distributions[1].factors[1]: product_dist 'p' needs a distribution here, "
        "but 'f' is a function",
        "expected the name of a distribution",
        "found 'f'",
    )


def test_cycle_among_functions(tmp_path: Path) -> None:
    doc = hs3_doc()
    doc["functions"] = [
        {"name": "a", "type": "sum", "summands": ["b", 1.0]},
        {"name": "b", "type": "product", "factors": ["a", 2.0]},
    ]
    doc["distributions"][0]["mean"] = "a"
    path = write(tmp_path, "cycle.json", doc)
    message = raises(
        CycleError,
        lambda: model(path),
        "references form a cycle: ",
        "expected references without cycles",
    )
    assert message.startswith(f"{path}: at $.functions[")
    assert "a -> b -> a" in message or "b -> a -> b" in message


# -- HistFactory channels ----------------------------------------------------------------------


def test_histfactory_sample_wrong_number_of_bins() -> None:
    doc = hf_doc()
    doc["distributions"][0]["samples"][1]["data"]["contents"] = [5.0, 6.0, 7.0]
    raises(
        DocumentError,
        lambda: load(doc),
        f"<document>: at {HF_BKG}.data.contents: sample 'bkg' has 3 bins, the channel's axes have 2",
        "expected 2 values",
        "found 3",
    )


@pytest.mark.parametrize("side", ["hi", "lo"])
def test_histosys_wrong_number_of_bins(side: str) -> None:
    doc = hf_doc()
    doc["distributions"][0]["samples"][1]["modifiers"][0]["data"][side]["contents"] = [1.0]
    raises(
        DocumentError,
        lambda: load(doc),
        f"<document>: at {HF_BKG}.modifiers[0].data.{side}.contents: histosys 'np' {side} has "
        "1 bins, the channel has 2; expected 2 values; found 1",
    )


def test_shapesys_vals_count_mismatch() -> None:
    doc = hf_doc()
    doc["distributions"][0]["samples"][1]["modifiers"][1]["data"]["vals"] = [0.1, 0.2, 0.3]
    raises(
        DocumentError,
        lambda: load(doc),
        f"<document>: at {HF_BKG}.modifiers[1].data.vals: shapesys 'ss' has 3 vals, the channel "
        "has 2 bins; expected 2 values; found 3",
    )


def test_interpolation_code_3() -> None:
    doc = hf_doc()
    doc["distributions"][0]["samples"][1]["modifiers"][2]["interpolation"] = 3
    raises(
        DocumentError,
        lambda: load(doc),
        f"<document>: at {HF_BKG}.modifiers[2].interpolation: ROOT interpolation code 3 is not "
        "one of [0, 1, 2, 4, 5, 6]",
        "expected ROOT codes 0, 1, 2, 4, 5, 6 or a name",
        "found 3",
    )


def test_interpolation_unknown_name() -> None:
    doc = hf_doc()
    doc["distributions"][0]["samples"][1]["modifiers"][0]["interpolation"] = "cubic"
    raises(
        DocumentError,
        lambda: load(doc),
        f"<document>: at {HF_BKG}.modifiers[0].interpolation: unknown interpolation 'cubic'",
        "known: code0, code1, code2, code4, code4p, exp, exponential, lin, linear, log, "
        "parabolic, poly6 or ROOT's integer codes [0, 1, 2, 4, 5, 6]",
        "found 'cubic'",
    )


def test_unknown_modifier_type() -> None:
    doc = hf_doc()
    doc["distributions"][0]["samples"][1]["modifiers"][2]["type"] = "normsyss"
    raises(
        UnknownTypeError,
        lambda: load(doc),
        f"<document>: at {HF_BKG}.modifiers[2].type: unknown modifier type 'normsyss'",
        "expected a known modifier type",
        "found 'normsyss'",
        f"Known: {MODIFIER_TYPES}.",
        "Did you mean 'normsys'?",
    )


def test_modifier_without_type() -> None:
    doc = hf_doc()
    del doc["distributions"][0]["samples"][1]["modifiers"][2]["type"]
    raises(
        DocumentError,
        lambda: load(doc),
        f"<document>: at {HF_BKG}.modifiers[2].type: modifier has no 'type'",
        "expected a type string",
        "found None",
    )


def test_normsys_data_missing_hi() -> None:
    doc = hf_doc()
    del doc["distributions"][0]["samples"][1]["modifiers"][2]["data"]["hi"]
    message = raises(
        DocumentError,
        lambda: load(doc),
        # no pydantic union tag (".normsys") in the path
        f"<document>: at {HF_BKG}.modifiers[2].data: missing required key 'hi'",
        "expected key 'hi'",
    )
    assert ".normsys." not in message


def test_normsys_hi_not_a_number(tmp_path: Path) -> None:
    doc = hf_doc()
    doc["distributions"][0]["samples"][1]["modifiers"][2]["data"]["hi"] = "big"
    path = write(tmp_path, "channel.json", doc)
    raises(
        DocumentError,
        lambda: load(path),
        f"{path}: at {HF_BKG}.modifiers[2].data.hi: ",
        "expected a number",
        "found 'big'",
    )


def test_histfactory_axis_without_binning() -> None:
    doc = hf_doc()
    doc["distributions"][0]["axes"] = [{"name": "obs"}]
    raises(
        DocumentError,
        lambda: load(doc),
        "<document>: at $.distributions[0].axes[0]: axis 'obs' has no binning",
        "expected 'edges' or 'min', 'max' and 'nbins'; found {'name': 'obs'}",
    )


# -- data ---------------------------------------------------------------------------------------


def test_binned_contents_do_not_match_axes() -> None:
    doc = hf_doc()
    doc["data"][0]["contents"] = [6.0, 8.0, 1.0]
    raises(
        DocumentError,
        lambda: load(doc),
        "<document>: at $.data[0].contents: dataset 'obs_ch' has 3 contents but its axes have "
        "2 bins",
        "expected 2 values (one per bin)",
        "found 3",
    )


def test_unbinned_entry_wrong_width() -> None:
    doc = hs3_doc()
    doc["data"][0]["entries"][1] = [0.2, 0.3]
    raises(
        DocumentError,
        lambda: load(doc),
        "<document>: at $.data[0].entries[1]: entry 1 of dataset 'd' has 2 values for 1 axes",
        "expected 1 values (one per axis)",
        "found [0.2, 0.3]",
    )


def test_axis_decreasing_edges(tmp_path: Path) -> None:
    doc = hf_doc()
    doc["data"][0]["axes"] = [{"name": "obs", "edges": [0.0, 2.0, 1.0]}]
    path = write(tmp_path, "edges.json", doc)
    raises(
        DocumentError,
        lambda: load(path),
        f"{path}: at $.data[0].axes[0].edges: the edges of axis 'obs' do not increase",
        "expected strictly increasing edges",
        "found [0.0, 2.0, 1.0]",
    )


def test_axis_max_below_min() -> None:
    doc = hs3_doc()
    doc["data"][0]["axes"][0] = {"name": "x", "min": 5.0, "max": -5.0}
    raises(
        DocumentError,
        lambda: load(doc),
        "at $.data[0].axes[0].max: axis 'x' has 'max' (-5.0) below 'min' (5.0)",
        "expected a value >= 5.0",
        "found -5.0",
    )


# -- analyses and models ----------------------------------------------------------------------


def test_analysis_names_missing_likelihood() -> None:
    doc = hs3_doc()
    doc["analyses"][0]["likelihood"] = "LL"
    ws = load(doc)
    raises(
        MissingReferenceError,
        ws.model,
        "<document>: at $.analyses[0].likelihood: analysis 'A' refers to likelihood 'LL', which "
        "does not exist; expected the name of a likelihood; found 'LL'. Known: L. "
        "Did you mean 'L'?",
    )


def test_model_unknown_name_lists_known() -> None:
    ws = load(hs3_doc())
    raises(ModelError, lambda: ws.model("nope"), "unknown analysis or likelihood 'nope'", "A, L")
    raises(ModelError, lambda: ws.model("AA"), "did you mean 'A'?")


def test_nll_wrong_length_vector() -> None:
    m = model(hs3_doc())
    assert m.parameters == ("mu",)
    raises(
        ModelError,
        lambda: m.nll([1.0, 2.0]),
        "parameter vector has shape (2,), expected (1,)",
        "model.parameters",
    )


def test_nll_unknown_parameter_name() -> None:
    m = model(hf_doc())
    raises(
        ModelError,
        lambda: m.nll({"alpha_npp": 0.5}),
        "unknown parameter 'alpha_npp'",
        "did you mean 'alpha_np'?",
        "known: ",
        "alpha_ns",
    )


# -- pyhf JSON --------------------------------------------------------------------------------


def test_pyhf_missing_observation() -> None:
    ws = pyhf_ws()
    ws["observations"][0]["name"] = "other"
    raises(
        DocumentError,
        lambda: load(ws),
        "<document>: at $.observations: no observation for channel 'ch'",
        "expected an entry named 'ch'",
        "found ['other']",
    )


def test_pyhf_unknown_modifier_type() -> None:
    ws = pyhf_ws()
    ws["channels"][0]["samples"][1]["modifiers"][1]["type"] = "shapesis"
    raises(
        UnknownTypeError,
        lambda: load(ws),
        f"<document>: at {PYHF_BKG}.modifiers[1].type: unknown pyhf modifier type 'shapesis'",
        "found 'shapesis'",
        f"Known: {PYHF_MODIFIER_TYPES}.",
        "Did you mean 'shapesys'?",
    )


def test_pyhf_unknown_modifier_type_in_file(tmp_path: Path) -> None:
    ws = pyhf_ws()
    ws["channels"][0]["samples"][0]["modifiers"][0]["type"] = "normfactr"
    path = write(tmp_path, "pyhf_workspace.json", ws)
    message = raises(
        UnknownTypeError,
        lambda: load(path),
        "at $.channels[0].samples[0].modifiers[0].type",
        "Did you mean 'normfactor'?",
    )
    assert message.startswith(f"{path}: ")


def test_pyhf_normsys_without_hi() -> None:
    ws = pyhf_ws()
    del ws["channels"][0]["samples"][1]["modifiers"][0]["data"]["hi"]
    raises(
        DocumentError,
        lambda: load(ws),
        f"<document>: at {PYHF_BKG}.modifiers[0].data: normsys 'ns' has no 'hi'",
        "expected keys 'hi' and 'lo'",
        "found {'lo': 0.9}",
    )


def test_pyhf_sample_data_length_mismatch() -> None:
    ws = pyhf_ws()
    ws["channels"][0]["samples"][1]["data"] = [5.0]
    raises(
        DocumentError,
        lambda: load(ws),
        f"<document>: at {PYHF_BKG}.data: 1 values where 2 are needed",
        "expected 2 numbers",
        "found [5.0]",
    )


def test_pyhf_observation_length_mismatch() -> None:
    ws = pyhf_ws()
    ws["observations"][0]["data"] = [6.0, 8.0, 1.0]
    raises(
        DocumentError,
        lambda: load(ws),
        "at $.observations[0].data: 3 values where 2 are needed",
        "expected 2 numbers",
        "found [6.0, 8.0, 1.0]",
    )


def test_pyhf_bounds_hi_below_lo() -> None:
    ws = pyhf_ws()
    ws["measurements"][0]["config"]["parameters"] = [{"name": "mu", "bounds": [[5.0, 0.0]]}]
    raises(
        DocumentError,
        lambda: load(ws),
        "<document>: at $.measurements[0].config.parameters[0].bounds[0]: bounds [lo, hi] "
        "with hi < lo",
        "expected lo <= hi",
        "found [5.0, 0.0]",
    )


def test_pyhf_parameter_both_normfactor_and_shapesys() -> None:
    ws = pyhf_ws()
    ws["channels"][0]["samples"][1]["modifiers"][1]["name"] = "mu"
    raises(
        DocumentError,
        lambda: load(ws),
        f"<document>: at {PYHF_BKG}.modifiers[1].type: parameter 'mu' is used by modifiers of "
        "types 'normfactor' and 'shapesys'",
        "expected 'normfactor' as at $.channels[0].samples[0].modifiers[0]",
        "found 'shapesys'",
    )


def test_pyhf_measurement_without_poi() -> None:
    ws = pyhf_ws()
    del ws["measurements"][0]["config"]["poi"]
    raises(
        DocumentError,
        lambda: load(ws),
        "<document>: at $.measurements[0].config.poi: a measurement needs 'config.poi'",
        "expected a parameter name",
        "found {'parameters': []}",
    )


def test_pyhf_channels_not_a_list() -> None:
    ws = pyhf_ws()
    ws["channels"] = {"ch": ws["channels"][0]}
    raises(
        DocumentError,
        lambda: load(ws),
        "<document>: at $.channels: pyhf workspace needs a list 'channels'",
        "expected a list",
        "found {'ch': {",
    )
