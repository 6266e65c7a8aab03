"""Opt-in persistent compilation cache: compiled XLA programs kept on disk across processes.

Within one process hs3jax compiles each program once per model *structure* (a new dataset,
new templates or a signal patch reuse it). Across processes XLA compiles again, which is most
of the first call of :func:`hs3jax.fit` or :func:`hs3jax.hypotest` (seconds). With the cache
enabled, a second process that builds a model of the same structure loads the executables from
disk instead; tracing and lowering to StableHLO still run (tens to hundreds of milliseconds).

Enable it with :func:`enable_compilation_cache` (path argument, else ``$HS3JAX_CACHE_DIR``,
else ``~/.cache/hs3jax/xla``) or by setting the environment variable ``HS3JAX_CACHE_DIR``
before the first model is compiled. This wraps JAX's own persistent cache
(``jax_compilation_cache_dir``), which is process-wide: it caches every JAX program of the
process, not only hs3jax's, and hs3jax never turns it on unless asked.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import jax

__all__ = ["CACHE_ENV", "compilation_cache_dir", "enable_compilation_cache", "enable_from_env"]

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
