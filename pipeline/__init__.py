"""Stages 2–5 of plan-etl and the refresh that runs them, as plain library functions:

``discover`` (sources.yaml, raw/) → ``state`` (the last run, what to recompute) →
``refresh`` (batches of plans: extract, ``derive``, ``validate``) → ``state`` merge →
``load`` (Parquet + warehouse) → ``report``.

Imports :mod:`core`, :mod:`schemas` and :mod:`extractors`; never :mod:`flows` or :mod:`cli`.
"""
