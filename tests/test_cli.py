"""The hs3jax command line: JSON on stdout, summaries on stderr, exit codes 0/1/2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import ROOT, read_json
from hs3jax.cli import main

SIMPLE = str(ROOT / "tests" / "data" / "pyhf" / "simple.json")
REF = read_json(ROOT / "tests" / "reference" / "pyhf" / "inference_reference.json")["models"][0]


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, object], str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else {}), err


def test_fit(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "fit", SIMPLE)
    assert code == 0 and out["success"] is True
    assert abs(float(out["twice_nll"]) - REF["mle"]["twice_nll"]) < 1e-6  # type: ignore[arg-type]
    assert "converged" in err


def test_fit_fixed_and_init(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(
        capsys, "fit", SIMPLE, "--fixed", "mu=1", "--init", "uncorr_bkguncrt[0]=1.1"
    )
    assert code == 0
    assert out["bestfit"]["mu"] == 1.0  # type: ignore[index]
    assert abs(float(out["twice_nll"]) - REF["fixed_poi_fit"]["twice_nll"]) < 1e-6  # type: ignore[arg-type]


def test_cls(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "cls", SIMPLE, "--poi-value", "1")
    assert code == 0
    assert abs(float(out["CLs_obs"]) - REF["hypotest"]["CLs_obs"]) < 1e-5  # type: ignore[arg-type]
    assert len(out["CLs_exp"]) == 5  # type: ignore[arg-type]
    assert "CLs obs" in err


def test_limit_to_output_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "limit.json"
    code, out, _ = _run(capsys, "limit", SIMPLE, "--output-file", str(target))
    assert code == 0 and out == {}
    data = read_json(target)
    assert abs(data["obs"] - REF["upper_limit"]["obs"]) < 1e-3 * REF["upper_limit"]["obs"]


def test_significance_scan_ranking(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "significance", SIMPLE)
    assert code == 0 and 0 < float(out["p0"]) < 1  # type: ignore[arg-type]
    code, out, _ = _run(capsys, "scan", SIMPLE, "--range", "0", "2", "5")
    assert code == 0 and len(out["twice_delta_nll"]) == 5  # type: ignore[arg-type]
    code, out, _ = _run(capsys, "ranking", SIMPLE)
    assert code == 0 and len(out["ranking"]) == 2  # type: ignore[arg-type]


def test_inspect_and_validate_still_work(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "inspect", SIMPLE)
    assert code == 0 and out["poi"] == "mu"
    code, out, _ = _run(capsys, "validate", SIMPLE)
    assert code == 0 and out["valid"] is True


@pytest.mark.parametrize(
    "argv",
    [
        ["fit", "does-not-exist.json"],
        ["fit", SIMPLE, "--fixed", "nope=1"],
        ["fit", SIMPLE, "--fixed", "mu"],
        ["cls", SIMPLE, "--test-stat", "bogus"],
        ["bogus-command", SIMPLE],
    ],
)
def test_bad_input_exits_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    assert main(argv) == 2


def test_background_only_cls_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(ROOT / "tests" / "data" / "likelihoods" / "ATLAS-SUSY-2018-14__Comb_bkgonly.json")
    with pytest.warns(UserWarning):
        assert main(["cls", path]) == 2
    assert "parameter of interest" in capsys.readouterr().err


def test_convert_round_trip(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    hs3 = tmp_path / "simple_hs3.json"
    back = tmp_path / "simple_pyhf.json"
    code, out, err = _run(capsys, "convert", SIMPLE, str(hs3), "--for-root")
    assert code == 0 and out["to"] == "hs3" and "->" in err
    code, out, _ = _run(capsys, "convert", str(hs3), str(back), "--to", "pyhf")
    assert code == 0
    again = json.loads(back.read_text())
    assert {c["name"] for c in again["channels"]} == {
        c["name"] for c in json.loads(Path(SIMPLE).read_text())["channels"]
    }
    code, _, err = _run(capsys, "convert", str(tmp_path / "missing.json"), str(back))
    assert code == 2 and "no such file" in err


def test_fit_minos(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "fit", SIMPLE, "--minos", "mu")
    assert code == 0 and set(out["minos"]) == {"mu"}  # type: ignore[arg-type]
    interval = out["minos"]["mu"]  # type: ignore[index]
    assert interval["at_lower_limit"] is True and interval["upper"] > 0
    assert "mu:" in err
    code, out, _ = _run(capsys, "fit", SIMPLE, "--minos")
    assert code == 0 and len(out["minos"]) == 3  # type: ignore[arg-type]


def test_two_dimensional_scan(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["scan", SIMPLE, "--parameter", "mu", "--range", "0", "2", "3"]
    argv += ["--parameter", "uncorr_bkguncrt[0]", "--range", "0.9", "1.1", "2"]
    code, out, err = _run(capsys, *argv)
    assert code == 0 and out["shape"] == [3, 2] and len(out["points"]) == 6  # type: ignore[arg-type]
    assert out["parameters"] == ["mu", "uncorr_bkguncrt[0]"]
    assert "mu x uncorr_bkguncrt[0]" in err


def test_pulls_and_ranking_show_normalised_pulls(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "pulls", SIMPLE)
    rows = {r["parameter"]: r for r in out["pulls"]}  # type: ignore[union-attr]
    assert code == 0 and rows["mu"]["pull"] is None
    assert rows["uncorr_bkguncrt[0]"]["prefit_width"] > 0
    code, out, err = _run(capsys, "ranking", SIMPLE)
    assert code == 0 and "pull_normalised" in out["ranking"][0]  # type: ignore[index]
    assert "pull/prefit" in err


def test_patch_and_analysis_options(capsys: pytest.CaptureFixture[str]) -> None:
    base = ROOT / "tests" / "data"
    bkg = str(base / "likelihoods" / "ATLAS-SUSY-2018-14__Comb_bkgonly.json")
    patch = str(base / "patches" / "ATLAS-SUSY-2018-14__Comb_bkgonly.patch.json")
    ref = next(
        m
        for m in read_json(ROOT / "tests" / "reference" / "pyhf" / "inference_reference.json")[
            "models"
        ]
        if m["file"].endswith("ATLAS-SUSY-2018-14__Comb_bkgonly.json")
    )
    code, out, _ = _run(capsys, "cls", bkg, "--patch", patch)
    assert code == 0 and abs(float(out["CLs_obs"]) - ref["hypotest"]["CLs_obs"]) < 1e-5  # type: ignore[arg-type]
    two = str(base / "pyhf" / "two_measurements.json")
    analyses = json.loads(Path(two).read_text())["measurements"]
    second = analyses[1]["name"]
    code, out, _ = _run(capsys, "fit", two, "--analysis", second)
    assert code == 0 and out["model"] == second
    assert main(["fit", two, "--analysis", "no-such-analysis"]) == 2


@pytest.mark.parametrize(
    "argv",
    [
        ["scan", SIMPLE, "--parameter", "mu", "--parameter", "uncorr_bkguncrt[0]"],
        ["scan", SIMPLE, "--parameter", "nope", "--range", "0", "1", "2"],
        ["fit", SIMPLE, "--minos", "nope"],
        ["pulls", SIMPLE, "--init", "nope=1"],
    ],
)
def test_more_bad_input_exits_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    assert main(argv) == 2


def test_failed_fit_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    """A fixed value where the expected yields are negative: −ln L is not finite anywhere."""
    code = main(["fit", SIMPLE, "--fixed", "uncorr_bkguncrt[0]=-5"])
    captured = capsys.readouterr()
    assert code == 1 and "fit failed" in captured.err
    assert json.loads(captured.out)["success"] is False


def test_long_commands_report_progress_on_stderr() -> None:
    from rich.progress import Progress

    from hs3jax.cli import _progress

    bar = _progress()
    assert isinstance(bar, Progress) and bar.console.stderr


def test_scan_with_unpaired_ranges_says_what_it_takes(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["scan", SIMPLE, "--parameter", "mu", "--parameter", "uncorr_bkguncrt[0]"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "one or two --parameter NAME, each with its own --range" in err
    assert "got 2 parameters and 1 ranges" in err


def test_output_into_a_closed_pipe_is_no_traceback() -> None:
    """`hs3jax fit ... | head -c 50`: a reader that leaves before the JSON is written (here
    before the fit ends, so every write meets the closed pipe) ends the command quietly."""
    import subprocess
    import sys

    example = str(ROOT / "hs3_examples" / "multichannel_all_modifiers.json")
    command = [sys.executable, "-m", "hs3jax.cli", "fit", example]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()
        err = process.stderr.read().decode()
        code = process.wait(timeout=300)
    assert "converged" in err  # the fit ran and its summary went to stderr
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert code == 0
