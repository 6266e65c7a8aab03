"""Lowering of all HistFactory channels of a likelihood into one set of flat tensors.

Every (channel, sample, bin) triple is one *entry* on a flat axis; entries are summed into the
concatenated bin axis of all channels with one segment sum. Modifiers are applied in grouped,
sparse form, so the program does not grow with the number of channels, samples or modifiers:

* per-sample factors (normfactor, lumi): a padded gather ``[rows, k]`` from the value vector;
* normsys: one vectorised interpolation per code over all (sample, parameter) pairs, then a
  padded product (multiplicative codes) or segment sum (additive codes) per sample;
* histosys: one vectorised interpolation per code over all (entry, parameter) pairs, summed
  into the entries with a segment sum; where the pairs fill most of their (parameter × entry)
  block, one matrix product of basis functions of α and coefficients of the templates
  (1000-point batch of ATLAS-SUSY-2018-31: 36 → 6.5 ms);
* per-bin factors (shapesys, shapefactor, staterror): a padded gather ``[entries, k]``.

The sample templates (nominal yields, variations, constraint widths) are returned as a pytree
of arrays that the compiled function takes as an argument, so new yields need no recompilation
and gradients flow into them.

Constraint terms implied by the modifiers follow the conventions of the tool that wrote the
file (``conventions`` = "root" for HS3, "pyhf" for pyhf JSON; see docs/conventions.md):

* normsys / histosys α: Gauss(0 | α, 1); ROOT normalises over the global observable's range.
* staterror γ_b: σ_b = sqrt(Σ_s err_sb²) / Σ_s ν⁰_sb. pyhf: Gauss(1 | γ, σ), bins with σ = 0
  fixed and given σ = 1 (pyhf 0.7.6). ROOT: Poisson(τ | γτ), τ = 1/σ², or Gauss when the file
  says so; bins with σ below ``relThreshold`` are constant and unconstrained.
* shapesys γ_b with relative width r_b: Poisson(τ | γτ), τ = 1/r², or Gauss(1 | γ, r); r = 0:
  unconstrained.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hs3jax.errors import DocumentError
from hs3jax.nodes.basic import log_gauss_mass, poisson_logpmf
from hs3jax.nodes.histfactory.dist import (
    HistFactoryDist,
    HistoSys,
    Lumi,
    NormFactor,
    NormSys,
    ShapeFactor,
    ShapeSys,
    StatError,
)
from hs3jax.nodes.histfactory.interpolation import (
    ADDITIVE,
    LINEAR_IN_TEMPLATES,
    additive_basis,
    additive_coefficients,
    additive_shift_of,
    additive_terms,
    relative_factor_of,
    relative_terms,
    relative_variations,
)

__all__ = ["HistFactoryProgram", "lower_histfactory"]

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_TINY = float(np.finfo(np.float64).tiny)


def _padded(groups: Sequence[Sequence[int]], pad: int) -> np.ndarray:
    """Index lists of unequal length as a rectangular int array padded with ``pad``."""
    width = max((len(g) for g in groups), default=0)
    out = np.full((len(groups), max(width, 1)), pad, dtype=np.int64)
    for i, g in enumerate(groups):
        out[i, : len(g)] = g
    return out


#: Fraction of a group's (parameter × target) block its contributions must fill for the dense
#: form: a matrix product costs ~12 flops per block element at BLAS speed, the sparse form
#: ~25 per contribution plus a scatter.
DENSE_MIN_FILL = 0.25


@dataclass(frozen=True)
class _DenseLayout:
    """A group's contributions in a compact (parameter, target) block (see _InterpGroup.dense)."""

    params: np.ndarray  # distinct value-vector indices
    targets: np.ndarray  # distinct targets, sorted
    pair_param: np.ndarray  # position in ``params`` of each contribution
    pair_target: np.ndarray  # position in ``targets`` of each contribution


@dataclass(frozen=True)
class _InterpGroup:
    code: str
    target: np.ndarray  # row (normsys) or entry (histosys) of each contribution
    param: np.ndarray  # index into the value vector
    gather: np.ndarray  # multiplicative codes: [targets, k] indices into the factors (+1 pad)
    span: tuple[int, int] = (0, 0)  # this group's slice of the packed lo/hi input arrays

    def product(self, factors: jax.Array) -> jax.Array:
        """Product of the contributions' factors per target, differentiable (no scatter-mul)."""
        extended = jnp.concatenate([factors, jnp.ones(1, dtype=factors.dtype)])
        return jnp.prod(extended[self.gather], axis=1)

    @cached_property
    def dense(self) -> _DenseLayout | None:
        """The compact layout where the shifts are one matrix product: an additive code linear
        in the templates whose contributions fill at least :data:`DENSE_MIN_FILL` of their
        (parameter × target) block, as in analyses where most systematics vary most yields
        (ATLAS-SUSY-2018-31 BkgOnlyA: 3,429 pairs in a 52 × 72 block). Else None (sparse
        form)."""
        if self.code not in LINEAR_IN_TEMPLATES or self.param.size == 0:
            return None
        params, pair_param = np.unique(self.param, return_inverse=True)
        targets, pair_target = np.unique(self.target, return_inverse=True)
        if self.param.size < DENSE_MIN_FILL * params.size * targets.size:
            return None
        return _DenseLayout(params, targets, pair_param.ravel(), pair_target.ravel())

    def dense_matrix(self, lo: jax.Array, nom: jax.Array, hi: jax.Array) -> jax.Array:
        """The coefficients C[(p, b), t] of the dense form for the contributions' templates
        (a function of the templates alone: computed once per template set)."""
        layout = self.dense
        assert layout is not None
        coefficients = additive_coefficients(self.code, lo, nom, hi)
        n_basis = coefficients.shape[-1]
        matrix = jnp.zeros(
            (layout.params.size, n_basis, layout.targets.size), dtype=coefficients.dtype
        )
        # repeated (parameter, target) pairs add up, as their shifts do
        matrix = matrix.at[layout.pair_param, :, layout.pair_target].add(coefficients)
        # (p, b) flattened: the product and its transpose read C as it lies in memory (an
        # einsum over two axes had XLA copy it twice per call, in two transposed layouts)
        return matrix.reshape(layout.params.size * n_basis, layout.targets.size)

    def dense_shift(self, alpha: jax.Array, matrix: jax.Array) -> jax.Array:
        """Σ of the shifts per distinct target, δ_t = Σ_(p,b) B_b(α_p) C[(p, b), t], for the
        distinct parameters' values ``alpha`` and the :meth:`dense_matrix`."""
        return jnp.reshape(additive_basis(self.code, alpha), (-1,)) @ matrix

    def prepare(self, lo: jax.Array, nom: jax.Array | None, hi: jax.Array) -> Any:
        """What the interpolation reads of the templates: the dense matrix, or the code's
        terms (:func:`additive_terms`, :func:`relative_terms`). ``nom`` None: ``lo`` and
        ``hi`` are relative to a nominal of 1 (normsys)."""
        if nom is None:
            if self.code in ADDITIVE:
                return additive_terms(self.code, lo, jnp.ones_like(lo), hi)
            return relative_terms(self.code, lo, hi)
        if self.dense is not None:
            return self.dense_matrix(lo, nom, hi)
        if self.code in ADDITIVE:
            return additive_terms(self.code, lo, nom, hi)
        return relative_terms(self.code, *relative_variations(lo, nom, hi))


@dataclass(frozen=True)
class Constraint:
    """One implied constraint term (document-level description, for users and export)."""

    parameter: str
    kind: str  # "Gauss" | "Poisson"
    width: float  # sigma (Gauss) or tau (Poisson)
    aux: float
    global_observable: str
    lo: float = -math.inf
    hi: float = math.inf


@dataclass(frozen=True)
class HistFactoryProgram:
    """All HistFactory channels of a likelihood as flat tensors plus pure JAX functions."""

    channels: tuple[str, ...]
    bin_slices: tuple[tuple[int, int], ...]
    nbins: int
    sample_slices: dict[tuple[str, str], tuple[int, int]]
    observed: np.ndarray | None
    inputs: dict[str, Any]
    constraints: tuple[Constraint, ...]
    fixed_parameters: frozenset[str]
    conventions: str
    _entry_bin: np.ndarray
    _entry_row: np.ndarray
    _row_factor_idx: np.ndarray
    _normsys: tuple[_InterpGroup, ...]
    _histosys: tuple[_InterpGroup, ...]
    _bin_factor_idx: np.ndarray
    _clip_mask: np.ndarray
    _n_rows: int
    _gauss: dict[str, np.ndarray] = field(default_factory=dict)
    _poisson: dict[str, np.ndarray] = field(default_factory=dict)

    @cached_property
    def _plan(self) -> tuple[np.ndarray, dict[str, tuple[int, int, tuple[int, ...]]]]:
        """All value-vector indices the program reads, concatenated, with (start, stop, shape)
        per use: one gather per evaluation (and one scatter-add in its gradient) instead of
        one per modifier group, which keeps small models' programs short."""
        parts: list[np.ndarray] = []
        where: dict[str, tuple[int, int, tuple[int, ...]]] = {}
        offset = 0

        def add(key: str, idx: np.ndarray) -> None:
            nonlocal offset
            flat = np.asarray(idx, dtype=np.int64).ravel()
            where[key] = (offset, offset + flat.size, tuple(np.shape(idx)))
            parts.append(flat)
            offset += flat.size

        add("row", self._row_factor_idx)
        add("bin", self._bin_factor_idx)
        for g, group in enumerate(self._normsys):
            add(f"normsys{g}", group.param)
        for g, group in enumerate(self._histosys):
            dense = group.dense
            add(f"histosys{g}", group.param if dense is None else dense.params)
        if self._gauss:
            add("gauss", self._gauss["param"])
        if self._poisson:
            add("poisson", self._poisson["param"])
        return np.concatenate(parts) if parts else np.zeros(0, np.int64), where

    def gather(self, values: jax.Array) -> dict[str, jax.Array]:
        """The parameter values of every use, from one gather of the value vector."""
        idx, where = self._plan
        flat = values[idx]
        return {key: flat[a:b].reshape(shape) for key, (a, b, shape) in where.items()}

    @property
    def aux_names(self) -> tuple[str, ...]:
        return tuple(c.global_observable for c in self.constraints)

    @property
    def aux_values(self) -> np.ndarray:
        return np.asarray([c.aux for c in self.constraints], dtype=np.float64)

    def prepare(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """The functions of the templates alone that the evaluation reads (interpolation
        coefficients, dense matrices, ln σ): computed once per template set, so fits and
        repeated evaluations do not redo them at every parameter point; a pure function of
        ``inputs``, so gradients still flow into the templates through it."""
        nominal = inputs["nominal"]
        histosys = []
        for group in self._histosys:
            a, b = group.span
            lo, hi = inputs["histosys_lo"][a:b], inputs["histosys_hi"][a:b]
            histosys.append(group.prepare(lo, nominal[group.target], hi))
        normsys = []
        for group in self._normsys:
            a, b = group.span
            normsys.append(
                group.prepare(inputs["normsys_lo"][a:b], None, inputs["normsys_hi"][a:b])
            )
        sigma = inputs["gauss_sigma"]
        return {
            "nominal": nominal,
            "histosys": tuple(histosys),
            "normsys": tuple(normsys),
            "gauss_sigma": sigma,
            "gauss_log_sigma": jnp.log(sigma),
            "poisson_tau": inputs["poisson_tau"],
        }

    def expected_entries(
        self, values: jax.Array, prepared: dict[str, Any], used: dict[str, jax.Array] | None = None
    ) -> jax.Array:
        """ν per entry (channel, sample, bin) for the value vector ``values`` and the
        templates through :meth:`prepare`."""
        used = self.gather(values) if used is None else used
        nominal = prepared["nominal"]
        n_entries = nominal.shape[0]
        shift = jnp.zeros(n_entries, dtype=nominal.dtype)
        entry_factor = jnp.ones(n_entries, dtype=nominal.dtype)
        for g, (group, terms) in enumerate(zip(self._histosys, prepared["histosys"], strict=True)):
            alpha = used[f"histosys{g}"]
            dense = group.dense
            if dense is not None:
                shift = shift.at[dense.targets].add(group.dense_shift(alpha, terms))
            elif group.code in ADDITIVE:
                delta = additive_shift_of(group.code, alpha, terms)
                shift = shift + jax.ops.segment_sum(delta, group.target, n_entries)
            else:
                kappa = relative_factor_of(group.code, alpha, terms)
                entry_factor = entry_factor * group.product(kappa)
        shaped = (nominal + shift) * entry_factor
        if self.conventions == "root" and self._clip_mask.any():
            # PiecewiseInterpolation(positiveDefinite=true) clips a varied template at zero
            shaped = jnp.where(self._clip_mask, jnp.maximum(shaped, 0.0), shaped)

        row_factor = jnp.prod(used["row"], axis=1)
        n_rows = self._n_rows
        norm_shift = jnp.zeros(n_rows, dtype=nominal.dtype)
        norm_factor = jnp.ones(n_rows, dtype=nominal.dtype)
        for g, (group, terms) in enumerate(zip(self._normsys, prepared["normsys"], strict=True)):
            alpha = used[f"normsys{g}"]
            if group.code in ADDITIVE:
                delta = additive_shift_of(group.code, alpha, terms)
                norm_shift = norm_shift + jax.ops.segment_sum(delta, group.target, n_rows)
            else:
                kappa = relative_factor_of(group.code, alpha, terms)
                norm_factor = norm_factor * group.product(kappa)
        normsys = (1.0 + norm_shift) * norm_factor
        if self.conventions == "root":
            # FlexibleInterpVar's cutoff: a non-positive total becomes the smallest double
            normsys = jnp.where(normsys <= 0.0, _TINY, normsys)
        bin_factor = jnp.prod(used["bin"], axis=1)
        per_row: jax.Array = (row_factor * normsys)[self._entry_row]
        result: jax.Array = shaped * bin_factor * per_row
        return result

    def expected(
        self, values: jax.Array, prepared: dict[str, Any], used: dict[str, jax.Array] | None = None
    ) -> jax.Array:
        """Expected counts ν_b on the concatenated bin axis of all channels (``prepared``: the
        templates through :meth:`prepare`)."""
        per_entry = self.expected_entries(values, prepared, used)
        return jax.ops.segment_sum(
            per_entry, self._entry_bin, self.nbins, indices_are_sorted=self._bins_sorted
        )

    @cached_property
    def _bins_sorted(self) -> bool:
        return bool(np.all(np.diff(self._entry_bin) >= 0))

    def log_poisson(self, expected: jax.Array, observed: jax.Array) -> jax.Array:
        """Σ_b [n_b ln ν_b − ν_b − ln Γ(n_b + 1)] (zero for n_b = ν_b = 0)."""
        return jnp.sum(poisson_logpmf(observed, expected))

    def log_constraints(
        self,
        values: jax.Array,
        aux: jax.Array,
        prepared: dict[str, Any],
        used: dict[str, jax.Array] | None = None,
    ) -> jax.Array:
        """Σ of the implied constraint log-densities; ``aux`` holds the global observables,
        ``prepared`` the templates through :meth:`prepare`."""
        used = self.gather(values) if used is None else used
        total = jnp.zeros((), dtype=aux.dtype)
        if self._gauss:
            g = self._gauss
            mean = used["gauss"]
            sigma = prepared["gauss_sigma"]
            x = aux[g["aux"]]
            z = (x - mean) / sigma
            logp = -0.5 * z * z - prepared["gauss_log_sigma"] - _LOG_SQRT_2PI
            if self.conventions == "root":
                logp = logp - log_gauss_mass((g["lo"] - mean) / sigma, (g["hi"] - mean) / sigma)
            total = total + jnp.sum(logp)
        if self._poisson:
            p = self._poisson
            tau = prepared["poisson_tau"]
            rate = used["poisson"] * tau
            x = aux[p["aux"]]
            total = total + jnp.sum(poisson_logpmf(x, rate))
        return total


@dataclass
class _Builder:
    index_of: Callable[[str], int]
    one_index: int
    conventions: str
    nom_ranges: dict[str, tuple[float, float]]
    file: str | None
    nominal: list[float] = field(default_factory=list)
    entry_bin: list[int] = field(default_factory=list)
    entry_row: list[int] = field(default_factory=list)
    row_factors: list[list[int]] = field(default_factory=list)
    bin_factors: list[list[int]] = field(default_factory=list)
    clip: list[bool] = field(default_factory=list)
    normsys: dict[str, tuple[list[int], list[int], list[float], list[float]]] = field(
        default_factory=dict
    )
    histosys: dict[str, tuple[list[int], list[int], list[float], list[float]]] = field(
        default_factory=dict
    )
    constraints: dict[str, Constraint] = field(default_factory=dict)
    fixed: set[str] = field(default_factory=set)

    def constrain(self, c: Constraint) -> None:
        # one constraint per parameter (shared nuisance parameters are constrained once)
        self.constraints.setdefault(c.parameter, c)

    def nom_range(self, name: str, default: tuple[float, float]) -> tuple[float, float]:
        if self.conventions != "root":
            return (-math.inf, math.inf)
        return self.nom_ranges.get(name, default)


def lower_histfactory(
    channels: Sequence[tuple[HistFactoryDist, Sequence[float] | None, tuple[str | int, ...]]],
    *,
    index_of: Callable[[str], int],
    one_index: int,
    conventions: str,
    nom_ranges: dict[str, tuple[float, float]] | None = None,
    file: str | None = None,
) -> HistFactoryProgram:
    """Lower HistFactory channels (node, observed counts or None, JSON path) together."""
    b = _Builder(index_of, one_index, conventions, nom_ranges or {}, file)
    names: list[str] = []
    slices: list[tuple[int, int]] = []
    sample_slices: dict[tuple[str, str], tuple[int, int]] = {}
    observed: list[float] = []
    offset = 0
    have_data = all(obs is not None for _, obs, _ in channels)
    for dist, obs, path in channels:
        nb = dist.nbins
        names.append(dist.name)
        slices.append((offset, offset + nb))
        if obs is not None:
            if len(obs) != nb:
                raise DocumentError(
                    f"dataset paired with channel {dist.name!r} has {len(obs)} bins, the channel has {nb}",
                    file=file,
                    path=path,
                    expected=f"{nb} bins",
                    found=len(obs),
                )
            observed.extend(float(x) for x in obs)
        _lower_channel(b, dist, offset, path, sample_slices)
        offset += nb

    def groups(
        table: dict[str, tuple[list[int], list[int], list[float], list[float]]],
        n_targets: int,
    ) -> tuple[tuple[_InterpGroup, ...], list[np.ndarray], list[np.ndarray]]:
        out, lo, hi = [], [], []
        start = 0
        for code in sorted(table):
            target, param, lo_vals, hi_vals = table[code]
            members: list[list[int]] = [[] for _ in range(n_targets if code not in ADDITIVE else 0)]
            for k, t in enumerate(target):
                if code not in ADDITIVE:
                    members[t].append(k)
            out.append(
                _InterpGroup(
                    code,
                    np.asarray(target, np.int64),
                    np.asarray(param, np.int64),
                    _padded(members, len(target)),
                    (start, start + len(target)),
                )
            )
            start += len(target)
            lo.append(np.asarray(lo_vals, np.float64))
            hi.append(np.asarray(hi_vals, np.float64))
        return tuple(out), lo, hi

    normsys, ns_lo, ns_hi = groups(b.normsys, len(b.row_factors))
    histosys, hs_lo, hs_hi = groups(b.histosys, len(b.nominal))
    constraints = tuple(b.constraints.values())
    gauss = [i for i, c in enumerate(constraints) if c.kind == "Gauss"]
    poisson = [i for i, c in enumerate(constraints) if c.kind == "Poisson"]
    inputs: dict[str, Any] = {
        "nominal": np.asarray(b.nominal, np.float64),
        "normsys_lo": _concat(ns_lo),
        "normsys_hi": _concat(ns_hi),
        "histosys_lo": _concat(hs_lo),
        "histosys_hi": _concat(hs_hi),
        "gauss_sigma": np.asarray([constraints[i].width for i in gauss], np.float64),
        "poisson_tau": np.asarray([constraints[i].width for i in poisson], np.float64),
    }
    gauss_arrays = (
        {
            "param": np.asarray([index_of(constraints[i].parameter) for i in gauss], np.int64),
            "aux": np.asarray(gauss, np.int64),
            "lo": np.asarray([constraints[i].lo for i in gauss], np.float64),
            "hi": np.asarray([constraints[i].hi for i in gauss], np.float64),
        }
        if gauss
        else {}
    )
    poisson_arrays = (
        {
            "param": np.asarray([index_of(constraints[i].parameter) for i in poisson], np.int64),
            "aux": np.asarray(poisson, np.int64),
        }
        if poisson
        else {}
    )
    return HistFactoryProgram(
        channels=tuple(names),
        bin_slices=tuple(slices),
        nbins=offset,
        sample_slices=sample_slices,
        observed=np.asarray(observed, np.float64) if have_data else None,
        inputs=inputs,
        constraints=constraints,
        fixed_parameters=frozenset(b.fixed),
        conventions=conventions,
        _entry_bin=np.asarray(b.entry_bin, np.int64),
        _entry_row=np.asarray(b.entry_row, np.int64),
        _row_factor_idx=_padded(b.row_factors, one_index),
        _normsys=normsys,
        _histosys=histosys,
        _bin_factor_idx=_padded(b.bin_factors, one_index),
        _clip_mask=np.asarray(b.clip, bool),
        _n_rows=len(b.row_factors),
        _gauss=gauss_arrays,
        _poisson=poisson_arrays,
    )


def _concat(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, np.float64)


def _staterror_sigmas(
    dist: HistFactoryDist, mod_name: str, pyhf_errors: dict[int, list[float]]
) -> np.ndarray:
    """σ_b = sqrt(Σ_s err_sb²) / Σ_s ν⁰_sb over the samples carrying staterror ``mod_name``."""
    nb = dist.nbins
    nom_sum = np.zeros(nb)
    err2 = np.zeros(nb)
    for i, sample in enumerate(dist.samples):
        mods = [m for m in sample.modifiers if isinstance(m, StatError) and m.name == mod_name]
        if not mods:
            continue
        nom_sum += np.asarray(sample.data.contents, np.float64)
        errors = pyhf_errors.get(i)
        if errors is None:
            errors = sample.data.errors
        if errors is None:
            errors = [0.0] * nb
        err2 += np.asarray(errors, np.float64) ** 2
    sigma = np.zeros(nb)
    ok = nom_sum > 0
    sigma[ok] = np.sqrt(err2[ok]) / nom_sum[ok]
    return sigma


def _lower_channel(
    b: _Builder,
    dist: HistFactoryDist,
    offset: int,
    path: tuple[str | int, ...],
    sample_slices: dict[tuple[str, str], tuple[int, int]],
) -> None:
    nb = dist.nbins
    staterror_cfg = dist.staterror
    # pyhf keeps absolute staterror uncertainties in the modifier's data
    pyhf_errors: dict[int, list[float]] = {}
    for i, sample in enumerate(dist.samples):
        for mod in sample.modifiers:
            if isinstance(mod, StatError) and isinstance(mod.data, list):
                pyhf_errors[i] = [float(x) for x in mod.data]
    stat_sigmas: dict[str, np.ndarray] = {}

    for sample in dist.samples:
        row = len(b.row_factors)
        first_entry = len(b.nominal)
        sample_slices[(dist.name, sample.name)] = (first_entry, first_entry + nb)
        row_factor: list[int] = []
        per_bin: list[list[int]] = [[] for _ in range(nb)]
        has_histosys = False
        for mod in sample.modifiers:
            if isinstance(mod, NormFactor | Lumi):
                row_factor.append(b.index_of(mod.parameter_names(dist.name)[0]))
            elif isinstance(mod, NormSys):
                alpha = mod.parameter_names(dist.name)[0]
                code = mod.code()
                target, param, lo, hi = b.normsys.setdefault(code, ([], [], [], []))
                target.append(row)
                param.append(b.index_of(alpha))
                lo.append(float(mod.data.lo))
                hi.append(float(mod.data.hi))
                _constrain_alpha(b, alpha)
            elif isinstance(mod, HistoSys):
                alpha = mod.parameter_names(dist.name)[0]
                code = mod.code()
                target, param, lo, hi = b.histosys.setdefault(code, ([], [], [], []))
                target.extend(range(first_entry, first_entry + nb))
                param.extend([b.index_of(alpha)] * nb)
                lo.extend(float(x) for x in mod.data.lo.contents)
                hi.extend(float(x) for x in mod.data.hi.contents)
                has_histosys = True
                _constrain_alpha(b, alpha)
            elif isinstance(mod, ShapeFactor):
                for i, name in enumerate(mod.parameter_names(dist.name)):
                    per_bin[i].append(b.index_of(name))
            elif isinstance(mod, ShapeSys):
                kind = mod.constraint_kind()
                for i, name in enumerate(mod.parameter_names(dist.name)):
                    per_bin[i].append(b.index_of(name))
                    rel = float(mod.data.vals[i])
                    if rel > 0:
                        _constrain_gamma(b, name, kind, rel)
            elif isinstance(mod, StatError):
                if mod.name not in stat_sigmas:
                    stat_sigmas[mod.name] = _staterror_sigmas(dist, mod.name, pyhf_errors)
                sigmas = stat_sigmas[mod.name]
                kind = _staterror_kind(b, mod, staterror_cfg)
                threshold = (
                    staterror_cfg.relThreshold
                    if staterror_cfg is not None and staterror_cfg.relThreshold is not None
                    else 0.0
                )
                for i, name in enumerate(mod.parameter_names(dist.name)):
                    per_bin[i].append(b.index_of(name))
                    sigma = float(sigmas[i])
                    if b.conventions == "pyhf":
                        if sigma == 0.0:
                            b.fixed.add(name)
                        _constrain_gamma(b, name, "Gauss", sigma if sigma > 0 else 1.0)
                    elif sigma > threshold and sigma > 0:
                        _constrain_gamma(b, name, kind, sigma)
                    else:
                        b.fixed.add(name)
        b.row_factors.append(row_factor)
        for i in range(nb):
            b.nominal.append(float(sample.data.contents[i]))
            b.entry_bin.append(offset + i)
            b.entry_row.append(row)
            b.bin_factors.append(per_bin[i])
            b.clip.append(has_histosys)


def _staterror_kind(b: _Builder, mod: StatError, cfg: Any) -> str:
    if b.conventions == "pyhf":
        return "Gauss"
    from hs3jax.nodes.histfactory.dist import _constraint_kind

    setting = mod.constraint_type or mod.constraint
    if setting is None and cfg is not None:
        setting = cfg.constraint_type
    return _constraint_kind(setting, "Poisson")


def _constrain_alpha(b: _Builder, alpha: str) -> None:
    nom = f"nom_{alpha}"
    lo, hi = b.nom_range(nom, (-10.0, 10.0))
    b.constrain(Constraint(alpha, "Gauss", 1.0, 0.0, nom, lo, hi))


def _constrain_gamma(b: _Builder, gamma: str, kind: str, rel: float) -> None:
    nom = f"nom_{gamma}"
    if kind == "Gauss":
        lo, hi = b.nom_range(nom, (0.0, 10.0))
        b.constrain(Constraint(gamma, "Gauss", rel, 1.0, nom, lo, hi))
    elif kind == "Poisson":
        tau = 1.0 / (rel * rel)
        b.constrain(Constraint(gamma, "Poisson", tau, tau, nom))
    elif kind == "none":
        return
    else:
        raise DocumentError(
            f"constraint type {kind!r} is not supported for HistFactory gammas",
            file=b.file,
            expected="Gauss or Poisson",
            found=kind,
        )
