"""Deployments of the nightly refresh: ``plan-etl serve`` (a long-running process that
runs the flow on a cron schedule) and ``prefect.yaml`` (for teams with a Prefect server and
work pool)."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from flows.nightly_refresh import nightly_refresh
from pipeline.load.warehouse import redact

DEFAULT_CRON = "0 2 * * *"  # 02:00
DEFAULT_TIMEZONE = "Asia/Tokyo"


def nightly_deployment(
    cron: str = DEFAULT_CRON,
    timezone: str = DEFAULT_TIMEZONE,
    raw_dir: str = "raw",
    curated_dir: str = "curated",
    warehouse: str | None = None,
    name: str = "nightly",
) -> Any:
    """A RunnerDeployment of the flow on ``cron`` in ``timezone`` with these parameters."""
    from prefect.schedules import Cron

    parameters: dict[str, Any] = {"raw_dir": raw_dir, "curated_dir": curated_dir}
    if warehouse:  # stored by Prefect: without its password (serve() passes it as PGPASSWORD)
        parameters["warehouse"] = redact(warehouse)
    return nightly_refresh.to_deployment(
        name=name,
        schedule=Cron(cron, timezone=timezone),
        parameters=parameters,
        description="plan-etl nightly refresh: extract, validate, evaluate, compare, load",
        tags=["plan-etl"],
        enforce_parameter_schema=False,
    )


def serve(**kwargs: Any) -> None:
    """Serve the nightly deployment until interrupted (needs a Prefect API: PREFECT_API_URL,
    or Prefect's temporary server)."""
    from prefect import serve as prefect_serve

    export_password(kwargs.get("warehouse"))
    prefect_serve(nightly_deployment(**kwargs))


def export_password(warehouse: str | None) -> None:
    """A password given in the warehouse URL as PGPASSWORD of this process (unless set), for
    the flow runs it starts: their stored parameter holds the URL without it."""
    parts = urlsplit(warehouse or "")
    password = parts.password or next(iter(parse_qs(parts.query).get("password", [])), None)
    if password and password != "***":
        os.environ.setdefault("PGPASSWORD", unquote(password))
