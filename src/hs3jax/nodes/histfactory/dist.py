"""The ``histfactory_dist`` node: a binned channel of samples and their modifiers (document layer).

Reads every spelling in use: ROOT 6.40's (integer ``interpolation`` on the modifier,
``constraint_name``, ``constraint_type``, relative shapesys ``vals``, staterror uncertainties in
the samples' ``data.errors``, a channel-level ``staterror`` block), the HS3 text's
(``lin``/``log``/``parabolic``/``poly6``), pyhs3's (``data.interpolation`` = ``code0`` ...
``code4p``) and ROOT master's (``{"type", "in", "out"}``). Interpolation settings are
normalised here to the codes of :mod:`hs3jax.nodes.histfactory.interpolation`.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from hs3jax.errors import DocumentError
from hs3jax.registry import register
from hs3jax.schema.base import Distribution, Reference
from hs3jax.schema.document import Axis

__all__ = [
    "HistFactoryDist",
    "HistoSys",
    "Modifier",
    "NormFactor",
    "NormSys",
    "Sample",
    "ShapeFactor",
    "ShapeSys",
    "StatError",
    "interpolation_code",
]


class _Keep(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, protected_namespaces=())

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_unset=True, mode="json")


# interpolation spellings -> internal code (see interpolation.py for the formulas)
_CODE_NAMES: dict[str, str] = {
    "code0": "0",
    "code1": "1",
    "code2": "pyhf2",
    "code4": "5",
    "code4p": "4",
    "lin": "0",
    "linear": "0",
    "log": "1",
    "exp": "1",
    "exponential": "1",
    "parabolic": "2",
    "poly6": "4",
}
_IN_OUT: dict[tuple[str, str], str] = {
    ("lin", "lin"): "0",
    ("linear", "linear"): "0",
    ("exp", "exp"): "1",
    ("log", "log"): "1",
    ("parabolic", "lin"): "2",
    ("parabolic", "linear"): "2",
    ("poly6", "lin"): "4",
    ("poly6", "linear"): "4",
    ("poly6", "exp"): "5",
    ("poly6", "log"): "5",
}
_ROOT_CODES = {0, 1, 2, 4, 5, 6}


def interpolation_code(value: Any) -> str:
    """Normalise an interpolation setting to an internal code ("0".."6" or "pyhf2").

    Integers are ROOT's codes (``FlexibleInterpVar`` / ``PiecewiseInterpolation``); strings are
    the HS3 text's or pyhf's names; a dict is ROOT master's ``{"type", "in", "out"}``.
    """
    if isinstance(value, bool):
        raise ValueError(f"interpolation must be a code or a name, not {value!r}")
    if isinstance(value, int | float) and float(value).is_integer():
        code = int(value)
        if code not in _ROOT_CODES:
            raise ValueError(
                f"ROOT interpolation code {code} is not one of {sorted(_ROOT_CODES)} "
                "(ROOT 6.40 implements 0, 1, 2, 4, 5, 6; code 3 contributes nothing there)"
            )
        return str(code)
    if isinstance(value, str):
        key = value.strip()
        if key.isdigit():
            return interpolation_code(int(key))
        if key in _CODE_NAMES:
            return _CODE_NAMES[key]
        raise ValueError(
            f"unknown interpolation {value!r}; known: {', '.join(sorted(_CODE_NAMES))} "
            f"or ROOT's integer codes {sorted(_ROOT_CODES)}"
        )
    if isinstance(value, dict):
        pair = (str(value.get("in", "")).lower(), str(value.get("out", "")).lower())
        if pair in _IN_OUT:
            return _IN_OUT[pair]
        if "type" in value and "in" not in value:
            return interpolation_code(value["type"])
        raise ValueError(f"unknown interpolation {value!r}; known in/out pairs: {sorted(_IN_OUT)}")
    raise ValueError(f"interpolation must be a code or a name, not {value!r}")


class _Modifier(_Keep):
    name: str
    type: str

    def parameter_names(self, channel: str) -> list[str]:
        raise NotImplementedError


class NormFactor(_Modifier):
    """Free normalisation factor: ν_s → μ·ν_s. A ``constraint_name`` adds that constraint."""

    type: Literal["normfactor"]
    parameter: str | None = None
    constraint_name: str | None = None

    def parameter_names(self, channel: str) -> list[str]:
        return [self.parameter or self.name]


class Lumi(_Modifier):
    """Luminosity factor (pyhf ``lumi``): ν_s → λ·ν_s, constrained by ``constraint_name``."""

    type: Literal["lumi"]
    parameter: str | None = None
    constraint_name: str | None = None

    def parameter_names(self, channel: str) -> list[str]:
        return [self.parameter or self.name]


class NormSysData(_Keep):
    hi: float
    lo: float
    interpolation: Any = None


class _Systematic(_Modifier):
    """A modifier interpolating between down and up variations with a Gaussian-constrained α."""

    default_code: ClassVar[str] = ""
    parameter: str | None = None
    interpolation: Any = None
    constraint_name: str | None = None
    constraint: str | None = None

    def parameter_names(self, channel: str) -> list[str]:
        return [self.parameter or f"alpha_{self.name}"]

    def code(self) -> str:
        """The interpolation code: the modifier's key, else pyhs3's ``data.interpolation``,
        else the default (ROOT 6.40 writes normsys with 5 and histosys without a key, 4)."""
        data_setting = getattr(getattr(self, "data", None), "interpolation", None)
        setting = self.interpolation if self.interpolation is not None else data_setting
        return self.default_code if setting is None else interpolation_code(setting)


class NormSys(_Systematic):
    """Normalisation systematic: ν_s → f(α; lo, hi)·ν_s, Gaussian-constrained α."""

    default_code: ClassVar[str] = "5"
    type: Literal["normsys"]
    data: NormSysData


class Contents(_Keep):
    contents: list[float]


class HistoSysData(_Keep):
    hi: Contents
    lo: Contents
    interpolation: Any = None


class HistoSys(_Systematic):
    """Shape systematic: ν_sb → ν_sb + δ_b(α; lo_b, hi_b), Gaussian-constrained α."""

    default_code: ClassVar[str] = "4"
    type: Literal["histosys"]
    data: HistoSysData


class ShapeSysData(_Keep):
    vals: list[float]


class ShapeSys(_Modifier):
    """Per-bin factor γ_b with a constraint of relative width ``vals[b]`` (Poisson or Gauss)."""

    type: Literal["shapesys"]
    parameters: list[str] | None = None
    data: ShapeSysData
    constraint_type: str | None = None
    constraint: str | None = None

    def parameter_names(self, channel: str) -> list[str]:
        if self.parameters is not None:
            return list(self.parameters)
        return [f"gamma_{self.name}_bin_{i}" for i in range(len(self.data.vals))]

    def constraint_kind(self) -> str:
        return _constraint_kind(self.constraint_type or self.constraint, "Poisson")


class ShapeFactor(_Modifier):
    """Free per-bin factor γ_b (no constraint)."""

    type: Literal["shapefactor"]
    parameters: list[str] | None = None

    def parameter_names(self, channel: str) -> list[str]:
        if self.parameters is None:
            raise ValueError("shapefactor needs 'parameters' (one name per bin)")
        return list(self.parameters)


class StatError(_Modifier):
    """Barlow-Beeston-lite per-bin factor γ_b shared by the samples of a channel that carry it.

    The width is σ_b = sqrt(Σ_s err_sb²) / Σ_s ν_sb over those samples; the errors are the
    samples' ``data.errors`` (ROOT) or the modifier's ``data`` (pyhf, absolute).
    """

    type: Literal["staterror"]
    parameters: list[str] | None = None
    data: Any = None
    constraint_type: str | None = None
    constraint: str | None = None

    def parameter_names(self, channel: str) -> list[str]:
        if self.parameters is not None:
            return list(self.parameters)
        raise ValueError("staterror needs 'parameters' (one name per bin)")


def _constraint_kind(value: str | None, default: str) -> str:
    if value is None:
        return default
    key = value.strip().lower()
    if key in ("gauss", "gaussian", "normal"):
        return "Gauss"
    if key == "poisson":
        return "Poisson"
    if key in ("lognormal", "lognorm"):
        return "LogNormal"
    if key in ("const", "none"):
        return "none"
    raise ValueError(f"unknown constraint type {value!r}; known: Gauss, Poisson, LogNormal")


Modifier = Annotated[
    NormFactor | Lumi | NormSys | HistoSys | ShapeSys | ShapeFactor | StatError,
    Field(discriminator="type"),
]


class SampleData(_Keep):
    contents: list[float]
    errors: list[float] | None = None


class Sample(_Keep):
    name: str
    data: SampleData
    modifiers: list[Modifier] = Field(default_factory=list)


class StatErrorConfig(_Keep):
    constraint_type: str | None = Field(default=None)
    relThreshold: float | None = None


@register("histfactory_dist")
class HistFactoryDist(Distribution):
    r"""A HistFactory channel: expected counts ν_b = Σ_s (ν⁰_sb + Σ δ_sb) Π κ_s Π γ_sb.

    HS3 ``histfactory_dist``; ROOT ``RooRealSumPdf`` built by HistFactory; one pyhf channel.
    Paired with binned data it gives Σ_b [n_b ln ν_b − ν_b − ln Γ(n_b+1)] (ROOT's
    ``BinnedLikelihood``, pyhf's main model). The modifiers' constraints are implied, as ROOT's
    importer and pyhf create them (see :mod:`hs3jax.nodes.histfactory.lower`).
    """

    axes: list[Axis]
    samples: list[Sample]
    staterror: StatErrorConfig | None = None

    def check(self) -> None:
        for k, axis in enumerate(self.axes):
            try:
                axis.bin_edges()
            except ValueError as exc:
                raise DocumentError(
                    str(exc),
                    path=("axes", k),
                    expected="'edges' or 'min', 'max' and 'nbins'",
                    found=axis.to_dict(),
                ) from None
        nbins = self.nbins
        for i, sample in enumerate(self.samples):
            if len(sample.data.contents) != nbins:
                raise DocumentError(
                    f"sample {sample.name!r} has {len(sample.data.contents)} bins, "
                    f"the channel's axes have {nbins}",
                    path=("samples", i, "data", "contents"),
                    expected=f"{nbins} values",
                    found=len(sample.data.contents),
                )
            for j, mod in enumerate(sample.modifiers):
                _check_modifier(mod, nbins, self.name, ("samples", i, "modifiers", j))

    @property
    def nbins(self) -> int:
        n = 1
        for axis in self.axes:
            n *= len(axis.bin_edges()) - 1
        return n

    def references(self) -> Any:
        for i, sample in enumerate(self.samples):
            for j, mod in enumerate(sample.modifiers):
                for name in mod.parameter_names(self.name):
                    yield Reference(name, ("samples", i, "modifiers", j))
                constraint = getattr(mod, "constraint_name", None)
                if constraint is not None and isinstance(mod, NormFactor | Lumi):
                    yield Reference(constraint, ("samples", i, "modifiers", j, "constraint_name"))

    def observables(self) -> tuple[str, ...]:
        return tuple(axis.name for axis in self.axes)


def _check_modifier(mod: Any, nbins: int, channel: str, where: tuple[str | int, ...]) -> None:
    """Cross-field checks of one modifier; errors point at the offending field."""
    if isinstance(mod, NormSys | HistoSys):
        key = "interpolation" if mod.interpolation is not None else None
        setting = mod.interpolation if key else mod.data.interpolation
        try:
            mod.code()
        except ValueError as exc:
            path = (*where, "interpolation") if key else (*where, "data", "interpolation")
            raise DocumentError(
                str(exc),
                path=path,
                expected="ROOT codes 0, 1, 2, 4, 5, 6 or a name (code0 .. code4p, lin, log, "
                "parabolic, poly6)",
                found=setting,
            ) from None
        if isinstance(mod, HistoSys):
            for side in ("hi", "lo"):
                n = len(getattr(mod.data, side).contents)
                if n != nbins:
                    raise DocumentError(
                        f"histosys {mod.name!r} {side} has {n} bins, the channel has {nbins}",
                        path=(*where, "data", side, "contents"),
                        expected=f"{nbins} values",
                        found=n,
                    )
    if isinstance(mod, ShapeSys) and len(mod.data.vals) != nbins:
        raise DocumentError(
            f"shapesys {mod.name!r} has {len(mod.data.vals)} vals, the channel has {nbins} bins",
            path=(*where, "data", "vals"),
            expected=f"{nbins} values",
            found=len(mod.data.vals),
        )
    if isinstance(mod, ShapeSys | StatError):
        key = "constraint_type" if mod.constraint_type is not None else "constraint"
        try:
            default = "Poisson"
            _constraint_kind(mod.constraint_type or mod.constraint, default)
        except ValueError as exc:
            raise DocumentError(
                str(exc),
                path=(*where, key),
                expected="Gauss, Poisson or LogNormal",
                found=mod.constraint_type or mod.constraint,
            ) from None
    if isinstance(mod, ShapeSys | ShapeFactor | StatError):
        try:
            names = mod.parameter_names(channel)
        except ValueError as exc:
            raise DocumentError(
                str(exc), path=(*where, "parameters"), expected=f"{nbins} names", show_found=False
            ) from None
        if len(names) != nbins:
            raise DocumentError(
                f"{mod.type} {mod.name!r} has {len(names)} parameters, one per bin is needed",
                path=(*where, "parameters"),
                expected=f"{nbins} names",
                found=len(names),
            )
