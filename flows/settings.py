"""Environment defaults that must be in place before Prefect is imported."""

from __future__ import annotations

import os
from pathlib import Path

ENVIRONMENT_DEFAULTS = {
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_LOGGING_TO_API_ENABLED": "false",
    "DASK_LOGGING__DISTRIBUTED": "warning",
    # A refresh's Dask tasks run for tens of seconds: the worker's statistical profiler
    # (a stack sample of the task thread every 10 ms, for the dashboard) and the 20 ms
    # event-loop health tick are tuned for millisecond tasks and only take CPU from them.
    "DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED": "False",
    "DASK_DISTRIBUTED__ADMIN__TICK__INTERVAL": "500ms",
    # multiprocessing's resource tracker (Dask's local workers) warns at exit about the
    # semaphores of workers that a stopped run killed; it removes them all the same.
    "PYTHONWARNINGS": "ignore:resource_tracker:UserWarning",
    "GX_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
}


def configure_environment() -> None:
    """Quiet, self-contained Prefect: its own PREFECT_HOME, warnings only, no telemetry.

    Values already set by the user win (e.g. PREFECT_API_URL for a real Prefect server).
    """
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "plan-etl"
    os.environ.setdefault("PREFECT_HOME", str(cache / "prefect"))
    try:
        Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
    except OSError:  # read-only home: fall back to a folder in the working directory
        os.environ["PREFECT_HOME"] = str(Path.cwd() / ".prefect")
        Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
    for key, value in ENVIRONMENT_DEFAULTS.items():
        os.environ.setdefault(key, value)
