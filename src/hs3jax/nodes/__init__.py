"""Built-in node families; importing this package registers them."""

from hs3jax.nodes import (
    basic,
    binned,
    composite,
    continuous,
    functions,
    generic,
    hs3_functions,
    hs3_text,
    math_functions,
    physics,
    polynomials,
    projection,
    shapes,
)
from hs3jax.nodes.histfactory import dist as histfactory_dist

__all__ = [
    "basic",
    "binned",
    "composite",
    "continuous",
    "functions",
    "generic",
    "histfactory_dist",
    "hs3_functions",
    "hs3_text",
    "math_functions",
    "physics",
    "polynomials",
    "projection",
    "shapes",
]
