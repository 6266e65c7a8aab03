"""The Hessian of −ln L from a few Hessian-vector products where it is sparse.

Large binned models are mostly per-bin parameters (staterror, shapesys and shapefactor γ): each
acts on one bin, so two γ of different bins meet in the Hessian only through the few parameters
that act on many bins (normsys, histosys, lumi, normfactors). The Hessian of the 2,277-parameter
benchmark model (20 channels; 2,000 γ, 260 parameters of one channel each, 17 of all channels)
is known from 130 products H·s instead of 2,277 (Curtis, Powell & Reid's column compression,
with the dense columns split off):

* the *dense* columns G (parameters that meet many others) are computed one by one, H e_g,
  and give the rows G by symmetry;
* the other columns are grouped in *colours*: j and k share one only where no parameter
  outside G meets both, so in the product H·1_c (1_c: ones on the colour c) the entry of every
  row i outside G is the single H_ij of its colour. On the benchmark model the 17 parameters
  of all channels are G, and the parameters of different channels share 113 colours.

The sparsity pattern is read off an exact Hessian (its non-zero entries), and every compressed
Hessian is checked against one more product, H·v with a random v: a pattern that missed an
entry (one that happened to vanish where the pattern was read, such as the couplings of a
signal's parameters at μ = 0) shows as H̃v ≠ Hv, and that Hessian is then computed in full and
its entries join the pattern.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np
from scipy import sparse
from scipy.linalg import cho_solve
from scipy.sparse.csgraph import connected_components

__all__ = [
    "BlockLayout",
    "BlockSolve",
    "Coloring",
    "SparseHessian",
    "color_columns",
    "component_labels",
]

#: Largest fraction of the columns a compressed Hessian may take in products (dense columns
#: plus colours) to be used: below it the saving pays for the pattern's bookkeeping.
MAX_PRODUCT_FRACTION = 0.5
#: Relative tolerance of the probe H̃v = Hv (rounding of the same sums in another order is
#: ~1e-15 of the row's scale; a missed entry larger than this share of it is caught).
PROBE_RTOL = 1e-9
#: Hessian-vector products per call of the products program (whole blocks of its ``batch``): a
#: full Hessian is n / chunk calls, a compressed one of ~100–300 products one or a few.
CHUNK_PRODUCTS = 64
#: Most parameters in one connected block of the non-dense part that :class:`BlockSolve`
#: inverts on its own (larger blocks: the dense Cholesky factorisation is as fast).
MAX_BLOCK = 512
#: Pairs (i, j) of a colouring's conflict matrix above which a threshold is not tried (memory).
_MAX_CONFLICTS = 50_000_000


@dataclass(frozen=True, eq=False)
class Coloring:
    """How to recover an n × n symmetric matrix with a given pattern from ``k`` products.

    Attributes:
        seeds: [k, n] 0/1 rows: one per dense column (a unit vector), then one per colour.
        dense: indices of the dense columns (their products are full columns).
        color: product row of each column (dense columns: their own row).
        rows, cols: the pattern's entries (i, j) with neither i nor j dense, read as
            H_ij = products[color[j], i].
    """

    seeds: np.ndarray
    dense: np.ndarray
    color: np.ndarray
    rows: np.ndarray
    cols: np.ndarray

    @property
    def n_products(self) -> int:
        return int(self.seeds.shape[0])

    def decompress(self, products: np.ndarray, free: np.ndarray | None = None) -> np.ndarray:
        """The matrix from ``products`` (``seeds @ H``, [k, n]); with ``free`` (indices) only
        its rows and columns ``free``, without forming the whole matrix."""
        n = self.color.shape[0]
        if free is None:
            free = np.arange(n)
        position = np.full(n, -1, dtype=np.int64)
        position[free] = np.arange(free.size)
        h = np.zeros((free.size, free.size), dtype=np.float64)
        kept = (position[self.rows] >= 0) & (position[self.cols] >= 0)
        rows, cols = self.rows[kept], self.cols[kept]
        h[position[rows], position[cols]] = products[self.color[cols], rows]
        dense = self.dense[position[self.dense] >= 0]
        full = products[self.color[dense]][:, free]  # rows of the dense columns
        h[position[dense], :] = full
        h[:, position[dense]] = full.T
        return h

    def times(self, products: np.ndarray, v: np.ndarray) -> np.ndarray:
        """H v for the matrix of ``products``, from its entries alone (O(entries))."""
        n = self.color.shape[0]
        dense_rows = products[self.color[self.dense]]  # [dense, n]: their rows (and columns)
        out: np.ndarray = dense_rows.T @ v[self.dense]
        out += np.bincount(
            self.rows, products[self.color[self.cols], self.rows] * v[self.cols], minlength=n
        )
        out[self.dense] = dense_rows @ v
        return out


def component_labels(dense_mask: np.ndarray, pattern: np.ndarray) -> np.ndarray | None:
    """Block of each row of a symmetric matrix with the boolean ``pattern`` once the rows
    ``dense_mask`` are set apart: the connected components of the rest (−1 for dense rows);
    None where a block would have more than :data:`MAX_BLOCK` rows."""
    local = np.flatnonzero(~dense_mask)
    _, label = connected_components(
        sparse.csr_matrix(pattern[np.ix_(local, local)]), directed=False
    )
    if label.size and int(np.bincount(label).max()) > MAX_BLOCK:
        return None
    labels = np.full(len(dense_mask), -1, dtype=np.int64)
    labels[local] = label
    return labels


def _greedy_colors(conflicts: sparse.csr_matrix, order: np.ndarray) -> np.ndarray:
    """Smallest free colour per column, in ``order`` (columns with the most conflicts first)."""
    color = np.full(conflicts.shape[0], -1, dtype=np.int64)
    indptr, indices = conflicts.indptr, conflicts.indices
    for j in order:
        taken = color[indices[indptr[j] : indptr[j + 1]]]
        taken = taken[taken >= 0]
        if taken.size == 0:
            color[j] = 0
            continue
        used = np.zeros(int(taken.max()) + 2, dtype=bool)
        used[taken] = True
        color[j] = int(np.argmin(used))
    return color


def color_columns(pattern: np.ndarray) -> Coloring:
    """A :class:`Coloring` for the symmetric boolean ``pattern`` with few products: columns
    with more non-zero entries than a threshold are dense, the rest coloured greedily; the
    threshold (tried at the distinct column counts, at most a few dozen of them) is the one
    with the fewest products."""
    pattern = np.asarray(pattern, dtype=bool)
    pattern = pattern | pattern.T | np.eye(len(pattern), dtype=bool)
    n = len(pattern)
    degree = pattern.sum(axis=0)
    candidates = np.unique(degree)
    if candidates.size > 40:
        candidates = np.unique(np.quantile(degree, np.linspace(0, 1, 40), method="lower"))
    best: tuple[int, np.ndarray, np.ndarray] | None = None
    for threshold in candidates:
        dense_mask = degree > threshold
        local = np.flatnonzero(~dense_mask)
        if local.size == 0:
            continue
        block = sparse.csr_matrix(pattern[np.ix_(local, local)])
        # rows shared by two columns; ≤ Σ_i (entries of row i)²
        if int((np.asarray(block.sum(axis=1)).ravel() ** 2).sum()) > _MAX_CONFLICTS:
            continue
        conflicts = (block.T @ block).tocsr()
        order = np.argsort(-np.diff(conflicts.indptr), kind="stable")
        colors = _greedy_colors(conflicts, order)
        products = int(dense_mask.sum()) + int(colors.max()) + 1
        if best is None or products < best[0]:
            best = (products, dense_mask, np.stack([local, colors]))
    if best is None:  # every column dense
        return _coloring(pattern, np.ones(n, dtype=bool), np.zeros((2, 0), dtype=np.int64))
    return _coloring(pattern, best[1], best[2])


def _coloring(pattern: np.ndarray, dense_mask: np.ndarray, local_colors: np.ndarray) -> Coloring:
    n = len(pattern)
    dense = np.flatnonzero(dense_mask)
    color = np.empty(n, dtype=np.int64)
    color[dense] = np.arange(dense.size)
    local, colors = local_colors
    color[local] = dense.size + colors
    k = dense.size + (int(colors.max()) + 1 if colors.size else 0)
    seeds = np.zeros((k, n), dtype=np.float64)
    seeds[color, np.arange(n)] = 1.0
    rows, cols = np.nonzero(pattern & ~dense_mask[:, None] & ~dense_mask[None, :])
    return Coloring(seeds, dense, color, rows, cols)


class SparseHessian:
    """``(x, data, prepared) -> ∇²(−ln L)`` as a host float64 matrix, compressed where the
    model's Hessian is sparse (see the module doc).

    One compiled program, ``products`` (:func:`~hs3jax.infer.hessian.hessian_products` in
    blocks of ``batch``, called with ``chunk`` seed rows: whole blocks and about
    :data:`CHUNK_PRODUCTS`), serves every call. The first call takes the full Hessian (:meth:`full`), reads its
    pattern and colours it; later calls take :attr:`n_products` products (and the probe)
    where that is at most :data:`MAX_PRODUCT_FRACTION` of the columns, else the full Hessian
    again. The learned pattern belongs to the model structure: the jitted
    programs are shared by models of one structure, and so is this object.
    """

    def __init__(self, products: Callable[..., jax.Array], n: int, batch: int) -> None:
        self.products = products
        self.n = n
        self.chunk = max(1, min(batch * max(1, round(CHUNK_PRODUCTS / batch)), n))
        self.pattern: np.ndarray | None = None
        self.coloring: Coloring | None = None
        self._seeds: np.ndarray | None = None
        self._labels: np.ndarray | None = None
        self._probe = np.random.default_rng(20261124).standard_normal(n)
        #: Hessians computed in full because the probe found an entry the pattern lacked
        self.misses = 0

    @property
    def n_products(self) -> int:
        """Hessian-vector products per call: the compressed count once a pattern is known
        (and compression pays), else n."""
        return self.n if self.coloring is None else self.coloring.n_products

    def layout(self, subset: np.ndarray) -> BlockLayout | None:
        """The :class:`BlockLayout` of the Hessian over the parameters ``subset`` (indices)
        where it is compressed and its blocks are small, else None."""
        if self.coloring is None or self._labels is None:
            return None
        return BlockLayout.of(self._labels[subset])

    def compile(self, x: Any, *args: Any) -> Any:
        """Compile the products program ahead (``StoredProgram.compile``)."""
        seeds = np.zeros((self.chunk, self.n), dtype=np.float64)
        return self.products.compile(x, seeds, *args)  # type: ignore[attr-defined]

    def _apply(self, seeds: Iterable[np.ndarray], x: Any, *args: Any) -> np.ndarray:
        """``H`` times each row of the ``chunk``-row blocks ``seeds``, one program call each,
        stacked."""
        # dispatch every chunk before reading any back, so the host waits once (a quick
        # executable of hs3jax.tiers waits per call, to time itself)
        parts = [self.products(x, chunk, *args) for chunk in seeds]
        return np.concatenate([np.asarray(p, dtype=np.float64) for p in parts])

    def _chunks(self, k: int, rows: Callable[[int, int], np.ndarray]) -> Iterator[np.ndarray]:
        """``k`` seed rows in blocks of ``chunk`` (the last one padded with zero rows), block
        by block: ``rows(a, b)`` gives rows a to b."""
        for start in range(0, k, self.chunk):
            part = rows(start, min(start + self.chunk, k))
            block = np.zeros((self.chunk, self.n), dtype=np.float64)
            block[: part.shape[0]] = part
            yield block

    def full(self, x: Any, *args: Any) -> np.ndarray:
        """The Hessian from all n unit vectors (made a block at a time: no n × n seeds)."""
        units = self._chunks(self.n, lambda a, b: np.eye(b - a, self.n, a))
        return self._apply(units, x, *args)[: self.n]

    def __call__(self, x: Any, *args: Any) -> np.ndarray:
        return self.over(None, x, *args)

    def over(self, free: np.ndarray | None, x: Any, *args: Any) -> np.ndarray:
        """The Hessian at ``x`` over the parameters ``free`` (indices; None: all)."""
        if self.coloring is not None and self._seeds is not None:
            seeds = self._seeds
            k = seeds.shape[0]
            out = self._apply(self._chunks(k, lambda a, b: seeds[a:b]), x, *args)[:k]
            products, exact = out[:-1], out[-1]
            # |Σ_j H_ij v_j| is at most Σ_j |H_ij| max|v|, which the products give row by row
            scale = np.abs(products).sum(axis=0) * np.abs(self._probe).max()
            missed = np.abs(self.coloring.times(products, self._probe) - exact) > (
                PROBE_RTOL * scale
            )
            if not missed.any() or not np.all(np.isfinite(out)):
                return self.coloring.decompress(products, free)
            self.misses += 1
        h = self._learn(self.full(x, *args))
        return h if free is None else h.take(free, 0).take(free, 1)

    def _learn(self, h: np.ndarray) -> np.ndarray:
        """Add the non-zero entries of the exact Hessian ``h`` to the pattern and recolour."""
        if not np.all(np.isfinite(h)):
            return h
        seen = h != 0
        grown = self.pattern is None or bool(np.any(seen & ~self.pattern))
        self.pattern = seen if self.pattern is None else self.pattern | seen
        if grown:
            coloring = color_columns(self.pattern)
            if coloring.n_products <= MAX_PRODUCT_FRACTION * self.n:
                self.coloring = coloring
                self._seeds = np.vstack([coloring.seeds, self._probe[None, :]])
                dense = np.zeros(self.n, dtype=bool)
                dense[coloring.dense] = True
                self._labels = component_labels(dense, self.pattern)
            else:
                self.coloring, self._seeds, self._labels = None, None, None
        return h


@dataclass(frozen=True, eq=False)
class BlockLayout:
    """Which rows of a symmetric matrix :class:`BlockSolve` treats as dense and how the others
    fall into diagonal blocks, grouped by block size. A subset of the rows keeps the blocks of
    the whole (restricted to it): blocks with no entries between them stay so.

    Attributes:
        dense: positions of the dense rows.
        blocks: per block size, the positions of its blocks ([blocks, size]).
    """

    dense: np.ndarray
    blocks: tuple[np.ndarray, ...]

    @classmethod
    def of(cls, labels: np.ndarray) -> BlockLayout:
        """The layout of rows with block ``labels`` (−1: dense; see
        :func:`component_labels`)."""
        dense = np.flatnonzero(labels < 0)
        local = np.flatnonzero(labels >= 0)
        order = local[np.argsort(labels[local], kind="stable")]
        _, sizes = np.unique(labels[order], return_counts=True)
        members = np.split(order, np.cumsum(sizes)[:-1]) if sizes.size else []
        groups: dict[int, list[np.ndarray]] = {}
        for m in members:
            groups.setdefault(len(m), []).append(m)
        return cls(dense, tuple(np.stack(groups[size]) for size in sorted(groups)))


@dataclass(frozen=True, eq=False)
class BlockSolve:
    """Solves H p = g for a positive definite H whose rows outside a few dense ones fall into
    small diagonal blocks (:class:`BlockLayout`), by the Schur complement of those blocks:

        H = [[A, B], [Bᵀ, D]],   S = A − B D⁻¹ Bᵀ,   S p_A = g_A − B D⁻¹ g_D,
        p_D = D⁻¹ (g_D − Bᵀ p_A)

    (A: the dense rows; D: block diagonal). On the 2,277-parameter benchmark model, 17 dense
    parameters and 20 blocks of 113 (one per channel): a few ms to factorise against 0.15 s for
    the Cholesky factor of the whole matrix. H is positive definite exactly where every block
    and S are, which :meth:`factor` checks.

    Attributes:
        layout: the dense rows and the blocks.
        inverses: per block size, D⁻¹ of its blocks ([blocks, size, size]).
        coupling: per block size, Bᵀ of its blocks ([blocks, size, dense]).
        reduced: per block size, D⁻¹ Bᵀ of its blocks.
        schur: lower Cholesky factor of S.
    """

    layout: BlockLayout
    inverses: tuple[np.ndarray, ...]
    coupling: tuple[np.ndarray, ...]
    reduced: tuple[np.ndarray, ...]
    schur: np.ndarray

    @classmethod
    def factor(cls, h: np.ndarray, layout: BlockLayout, shift: float = 0.0) -> BlockSolve | None:
        """The block solve of the symmetric ``h + shift·1`` (whose entries between different
        blocks vanish); None where it is not positive definite."""
        dense = layout.dense
        inverses, coupling, reduced = [], [], []
        schur = h[np.ix_(dense, dense)] + shift * np.eye(dense.size)
        try:
            for pos in layout.blocks:
                d = h[pos[:, :, None], pos[:, None, :]]
                d = 0.5 * (d + np.swapaxes(d, 1, 2)) + shift * np.eye(pos.shape[1])
                np.linalg.cholesky(d)  # raises where a block is not positive definite
                inv = np.linalg.inv(d)
                bt = h[pos[:, :, None], dense[None, None, :]]
                x = inv @ bt
                schur -= np.einsum("bsi,bsj->ij", bt, x)
                inverses.append(inv)
                coupling.append(bt)
                reduced.append(x)
            chol = np.linalg.cholesky(0.5 * (schur + schur.T)) if dense.size else schur
        except np.linalg.LinAlgError:
            return None
        return cls(layout, tuple(inverses), tuple(coupling), tuple(reduced), chol)

    @classmethod
    def shifted(cls, h: np.ndarray, layout: BlockLayout) -> BlockSolve | None:
        """The block solve of ``h``, or where ``h`` is not positive definite of ``h + s·1``
        with the smallest s = 10ᵏ · max(1e-8, 1e-12 · max |H_ii|) that is (a dense Cholesky
        path takes 1.5 |λ_min|, which needs the eigenvalues of the whole matrix); s is at
        most the Gershgorin bound, beyond which every block is positive definite. None where
        no shift helps."""
        factor = cls.factor(h, layout)
        if factor is not None or not np.all(np.isfinite(h)):
            return factor
        bound = float(np.abs(h).sum(axis=1).max()) - float(np.diag(h).min())
        shift = max(1e-8, 1e-12 * float(np.abs(np.diag(h)).max()))
        while factor is None and shift < 2.0 * bound:
            factor = cls.factor(h, layout, shift)
            shift *= 10.0
        return factor if factor is not None else cls.factor(h, layout, 2.0 * bound)

    def solve(self, g: np.ndarray) -> np.ndarray:
        """H⁻¹ g."""
        dense = self.layout.dense
        p = np.zeros_like(g)
        rhs = g[dense].copy()
        local = []
        for pos, inv, bt in zip(self.layout.blocks, self.inverses, self.coupling, strict=True):
            y = np.einsum("bij,bj->bi", inv, g[pos])
            rhs -= np.einsum("bsi,bs->i", bt, y)
            local.append(y)
        p_dense = cho_solve((self.schur, True), rhs) if rhs.size else rhs
        p[dense] = p_dense
        for pos, x, y in zip(self.layout.blocks, self.reduced, local, strict=True):
            p[pos] = y - x @ p_dense
        return p

    def inverse(self) -> np.ndarray:
        """H⁻¹ as a dense matrix:

        [[S⁻¹, −S⁻¹ Xᵀ], [−X S⁻¹, D⁻¹ + X S⁻¹ Xᵀ]],   X = D⁻¹ Bᵀ
        """
        dense = self.layout.dense
        n = dense.size + sum(pos.size for pos in self.layout.blocks)
        out = np.zeros((n, n), dtype=np.float64)
        s_inv = cho_solve((self.schur, True), np.eye(dense.size)) if dense.size else self.schur
        out[np.ix_(dense, dense)] = s_inv
        local = np.concatenate([pos.ravel() for pos in self.layout.blocks])
        x = np.concatenate([r.reshape(-1, dense.size) for r in self.reduced])  # [local, dense]
        xs = x @ s_inv
        out[np.ix_(local, dense)] = -xs
        out[np.ix_(dense, local)] = -xs.T
        out[np.ix_(local, local)] = xs @ x.T
        for pos, inv in zip(self.layout.blocks, self.inverses, strict=True):
            out[pos[:, :, None], pos[:, None, :]] += inv
        return out
