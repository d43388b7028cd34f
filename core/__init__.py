"""Foundations of plan-etl: the object model (:mod:`core.models`), the one normalizer
(:mod:`core.normalize`) and source-tree versions (:mod:`core.versions`).

This package imports nothing else of the project; every other package may import it.
"""

__version__ = "0.1.0"
