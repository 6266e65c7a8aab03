"""Test configuration: float64 for the tests' own JAX transformations.

hs3jax's public entry points run in float64 on their own (``jax.enable_x64`` inside); tests
that call ``jax.grad`` or ``jax.jit`` on model functions themselves need it globally, as users'
pipelines do.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jax
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
