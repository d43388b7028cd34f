"""Progress events of a run, delivered to whoever listens (the CLI's progress bar).

The listener is registered here, not passed as a flow parameter: flow parameters (and the
flow function's globals) travel with every task to Dask workers and must pickle, and a
terminal progress bar does not.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

Listener = Callable[[str, dict[str, Any]], None]
_LISTENERS: list[Listener] = []


@contextlib.contextmanager
def listening(listener: Listener | None) -> Iterator[None]:
    if listener is not None:
        _LISTENERS.append(listener)
    try:
        yield
    finally:
        if listener is not None:
            _LISTENERS.remove(listener)


def notify(event: str, data: dict[str, Any]) -> None:
    for listener in list(_LISTENERS):
        listener(event, data)
