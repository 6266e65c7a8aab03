"""Opt-in persistent compilation cache: compiled XLA programs kept on disk across processes.

Within one process hs3jax compiles each program once per model *structure* (a new dataset,
new templates or a signal patch reuse it). Across processes XLA compiles again, which is most
of the first call of :func:`hs3jax.fit` or :func:`hs3jax.hypotest` (seconds). With the cache
enabled, a second process that builds a model of the same structure loads the executables from
disk instead:

* the programs of fits and hypothesis tests (:func:`stored_jit`) are stored under a key of the
  model's structure (``Model.structure``: the lowered graph, every node's JSON and the source
  of user-registered node classes), the program's role, the argument shapes and the code
  (hs3jax's sources, JAX and jaxlib versions, device, XLA flags), and loaded without tracing;
* every other JAX program goes through JAX's own persistent cache, keyed after tracing and
  lowering to StableHLO (which still run: tens to hundreds of milliseconds).

Enable it with :func:`enable_compilation_cache` (path argument, else ``$HS3JAX_CACHE_DIR``,
else ``~/.cache/hs3jax/xla``) or by setting the environment variable ``HS3JAX_CACHE_DIR``
before the first model is compiled. This wraps JAX's own persistent cache
(``jax_compilation_cache_dir``), which is process-wide: it caches every JAX program of the
process, not only hs3jax's, and hs3jax never turns it on unless asked.
"""

from __future__ import annotations

import functools
import hashlib
import os
import struct
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import jax
import numpy as np

from hs3jax.tiers import Tier, TieredExecutable, TierRule, quick_options

__all__ = [
    "CACHE_ENV",
    "StoredProgram",
    "argument_signature",
    "compilation_cache_dir",
    "enable_compilation_cache",
    "enable_from_env",
    "source_digest",
    "stored_jit",
]

#: environment variable naming the cache directory (opt-in)
CACHE_ENV = "HS3JAX_CACHE_DIR"


def _default_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "hs3jax" / "xla"


def enable_compilation_cache(path: str | os.PathLike[str] | None = None) -> Path:
    """Keep compiled programs in ``path`` (default ``$HS3JAX_CACHE_DIR``, else
    ``~/.cache/hs3jax/xla``) and load them from there in later processes.

    Every program is cached, however fast it compiled (JAX's defaults skip programs that
    compile in under a second, which is most of ours on a small model). Returns the directory.
    """
    from jax.experimental.compilation_cache import compilation_cache

    if path is None:
        path = os.environ.get(CACHE_ENV) or _default_dir()
    directory = Path(path).expanduser().resolve()
    directory.mkdir(parents=True, exist_ok=True)
    settings: dict[str, Any] = {
        "jax_enable_compilation_cache": True,
        "jax_compilation_cache_dir": str(directory),
        "jax_persistent_cache_min_compile_time_secs": 0.0,
        "jax_persistent_cache_min_entry_size_bytes": 0,
    }
    for name, value in settings.items():
        # jax's config object is untyped
        jax.config.update(name, value)  # type: ignore[no-untyped-call]
    # JAX opens its cache once, at the first compilation: reopen it at the new place
    compilation_cache.reset_cache()
    return directory


def compilation_cache_dir() -> Path | None:
    """The persistent cache directory JAX is using, or None when it is off."""
    value = jax.config.jax_compilation_cache_dir  # type: ignore[attr-defined]
    enabled = jax.config.jax_enable_compilation_cache  # type: ignore[attr-defined]
    return Path(value) if value and enabled else None


def enable_from_env() -> Path | None:
    """Enable the cache when ``$HS3JAX_CACHE_DIR`` is set (called when hs3jax is imported);
    do nothing otherwise."""
    path = os.environ.get(CACHE_ENV)
    if not path:
        return None
    return enable_compilation_cache(path)


# -- programs stored by model structure --------------------------------------------------------

_PROGRAMS_SUBDIR = "hs3jax-programs"


@functools.cache
def _code_version() -> str:
    """What a stored executable depends on besides the model: hs3jax's own sources, the JAX
    and jaxlib versions, the device, float64 mode and XLA's flags."""
    from importlib.metadata import version

    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    device = jax.devices()[0]
    for part in (
        jax.__version__,
        version("jaxlib"),
        device.platform,
        getattr(device, "device_kind", ""),
        str(jax.config.jax_enable_x64),  # type: ignore[attr-defined]
        os.environ.get("XLA_FLAGS", ""),
    ):
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()


def source_digest(classes: Iterable[type]) -> str | None:
    """A hash of the source files of ``classes`` outside hs3jax (user-registered nodes), for
    keys of stored programs; None where a source cannot be read (a class defined in an
    interactive session), whose programs are then not stored."""
    import inspect

    digest = hashlib.sha256()
    for cls in sorted(set(classes), key=lambda c: f"{c.__module__}.{c.__qualname__}"):
        if cls.__module__.split(".")[0] == "hs3jax":
            continue
        try:
            source = inspect.getsource(inspect.getmodule(cls) or cls)
        except (OSError, TypeError):
            return None
        digest.update(f"{cls.__module__}.{cls.__qualname__}".encode())
        digest.update(source.encode())
    return digest.hexdigest()


def _store() -> Path | None:
    directory = compilation_cache_dir()
    return None if directory is None else directory / _PROGRAMS_SUBDIR


def argument_signature(args: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """(tree, (shape, dtype, weak type) per leaf) of a call's arguments, which selects its
    executable; None for arguments that are not all concrete arrays (tracers, Python scalars)."""
    leaves, tree = jax.tree_util.tree_flatten(args)
    parts = []
    for leaf in leaves:
        if isinstance(leaf, jax.core.Tracer) or not isinstance(leaf, np.ndarray | jax.Array):
            return None
        # the dtype object itself: str(dtype) cost most of the 55 µs this took per fit step
        parts.append((leaf.shape, leaf.dtype, getattr(leaf, "weak_type", False)))
    return tree, tuple(parts)


def _pack(*blobs: bytes) -> bytes:
    return b"".join(struct.pack("<Q", len(b)) + b for b in blobs)


def _unpack(data: bytes) -> list[bytes]:
    out, at = [], 0
    while at < len(data):
        (size,) = struct.unpack_from("<Q", data, at)
        out.append(data[at + 8 : at + 8 + size])
        at += 8 + size
    return out


class StoredProgram:
    """``jax.jit(fn)`` compiled with the options of its ``tier`` (:mod:`hs3jax.tiers`) and, while
    the compilation cache is enabled, kept on disk (see the module docstring). Exactly
    ``jax.jit(fn)`` for the ``"full"`` tier with the cache off, and for arguments that are not
    concrete arrays (tracers: the program is then part of an enclosing trace). A ``tier`` that
    is a rule (:data:`hs3jax.tiers.TierRule`) picks the tier per argument signature."""

    def __init__(
        self, fn: Callable[..., Any], key: str | None, role: str, tier: Tier | TierRule
    ) -> None:
        self._jit = jax.jit(fn)
        self._key = key
        self._role = role
        self._tier = tier
        # per argument signature: an executable, or a TieredExecutable
        self._executables: dict[Any, Any] = {}
        self._lock = threading.Lock()

    def __call__(self, *args: Any) -> Any:
        executable = self._executable(args)
        return self._jit(*args) if executable is None else executable(*args)

    def cache_size(self) -> int:
        """Executables held: compiled by ``jax.jit``, by this program or loaded from disk."""
        return int(self._jit._cache_size()) + len(self._executables)  # type: ignore[attr-defined]

    def lower(self, *args: Any) -> Any:
        """``jax.jit(fn).lower(*args)``."""
        return self._jit.lower(*args)

    def compile(self, *args: Any) -> Any:
        """Compile (or load) the executable for ``args`` without calling it; returns it."""
        executable = self._executable(args)
        return self._jit.lower(*args).compile() if executable is None else executable

    def _executable(self, args: tuple[Any, ...]) -> Any:
        """The executable for ``args`` (loaded, or compiled on first use); None where
        ``jax.jit`` itself serves the call (see the class doc)."""
        store = None if self._key is None else _store()
        if self._tier == "full" and store is None:
            return None
        signature = argument_signature(args)
        if signature is None:
            return None
        executable = self._executables.get(signature)
        if executable is None:
            with self._lock:
                executable = self._executables.get(signature)
                if executable is None:
                    executable = self._create(store, signature, args)
                    self._executables[signature] = executable
        return executable

    def _create(self, store: Path | None, signature: Any, args: tuple[Any, ...]) -> Any:
        quick = quick_options()
        chosen = self._tier(args) if callable(self._tier) else self._tier
        # with the cache on, a tiered program is compiled optimised once and loaded after
        tier = "full" if quick is None or (store is not None and chosen == "tiered") else chosen
        path = None
        if store is not None:
            name = hashlib.sha256(
                f"{_code_version()}|{self._key}|{self._role}|{tier}|{signature!r}".encode()
            ).hexdigest()
            path = store / f"{name}.bin"
            loaded = _load(path)
            if loaded is not None:
                return loaded
        lowered = self._jit.lower(*args)
        if tier == "tiered" and quick is not None:
            return TieredExecutable(lowered, quick)
        executable = lowered.compile(quick if tier == "quick" else None)
        if path is not None:
            _save(path, executable)
        return executable


def _load(path: Path) -> Any:
    """The executable stored at ``path``; None where there is none or it cannot be read (a
    damaged or foreign entry is compiled afresh)."""
    from jax.experimental import serialize_executable

    if not path.exists():
        return None
    try:
        payload, in_tree, out_tree = _unpack(path.read_bytes())
        registry = jax.tree_util.default_registry
        return serialize_executable.deserialize_and_load(
            payload,
            jax.tree_util.PyTreeDef.deserialize_using_proto(registry, in_tree),
            jax.tree_util.PyTreeDef.deserialize_using_proto(registry, out_tree),
        )
    except Exception:
        return None


def _save(path: Path, executable: Any) -> None:
    """Store ``executable`` at ``path`` (atomically: readers never see half an entry); a
    program that cannot be serialised still runs, unstored."""
    from jax.experimental import serialize_executable

    try:
        payload, in_tree, out_tree = serialize_executable.serialize(executable)
        blob = _pack(payload, in_tree.serialize_using_proto(), out_tree.serialize_using_proto())
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        partial.write_bytes(blob)
        partial.replace(path)
    except Exception:
        pass


def stored_jit(
    fn: Callable[..., Any], key: str | None, role: str, tier: Tier | TierRule = "full"
) -> StoredProgram:
    """``jax.jit(fn)`` compiled for its ``tier`` (:mod:`hs3jax.tiers`) and stored under the model
    structure ``key`` and the program's ``role`` (see :class:`StoredProgram`)."""
    return StoredProgram(fn, key, role, tier)
