"""The HistFactory node family: ``histfactory_dist`` and its modifiers."""

from hs3jax.nodes.histfactory.dist import HistFactoryDist

__all__ = ["HistFactoryDist"]
