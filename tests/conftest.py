"""Test configuration: float64 for the tests' own JAX transformations.

hs3jax's public entry points run in float64 on their own (``jax.enable_x64`` inside); tests
that call ``jax.grad`` or ``jax.jit`` on model functions themselves need it globally, as users'
pipelines do.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jax
import jax.monitoring
import pytest

jax.config.update("jax_enable_x64", True)

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
REFERENCE = ROOT / "tests" / "reference"


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


_COMPILE = "/jax/core/compile/backend_compile_duration"


@contextmanager
def counting_compilations() -> Iterator[list[str]]:
    """XLA compilations inside the block (one entry per compiled program)."""
    seen: list[str] = []

    def listener(event: str, duration: float, **_: Any) -> None:
        if event == _COMPILE:
            seen.append(event)

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        yield seen
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
