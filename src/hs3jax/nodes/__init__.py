"""Built-in node families; importing this package registers them."""

from hs3jax.nodes import basic, composite, functions, generic
from hs3jax.nodes.histfactory import dist as histfactory_dist

__all__ = ["basic", "composite", "functions", "generic", "histfactory_dist"]
