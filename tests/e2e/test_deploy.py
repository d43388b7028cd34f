"""Scheduling: the served deployment and prefect.yaml describe the same nightly run."""

import os

import yaml
from click.testing import CliRunner
from conftest import ROOT

from cli.main import main
from flows.deployments import nightly_deployment


def test_nightly_deployment_schedule_and_parameters():
    d = nightly_deployment(cron="30 3 * * *", timezone="Asia/Tokyo", warehouse="postgresql://x@localhost/db")
    [schedule] = d.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone) == ("30 3 * * *", "Asia/Tokyo")
    assert d.parameters == {
        "raw_dir": "raw",
        "curated_dir": "curated",
        "warehouse": "postgresql://x@localhost/db",
    }
    assert d.entrypoint == "flows/nightly_refresh.py:nightly_refresh"
    default = nightly_deployment()
    assert (default.schedules[0].schedule.cron, default.schedules[0].schedule.timezone) == (
        "0 2 * * *",
        "Asia/Tokyo",
    )


def test_a_served_deployment_stores_no_password(monkeypatch):
    """Prefect stores a deployment's parameters: the URL's password is masked there and given
    to the flow runs as PGPASSWORD (unless already set)."""
    from flows.deployments import export_password

    d = nightly_deployment(warehouse="postgresql://x:s3cret@localhost/db?password=s3cret")
    assert d.parameters["warehouse"] == "postgresql://x:***@localhost/db?password=***"
    monkeypatch.delenv("PGPASSWORD", raising=False)
    export_password("postgresql://x:s%40cret@localhost/db")
    assert os.environ["PGPASSWORD"] == "s@cret"
    export_password("postgresql://x:other@localhost/db")  # a PGPASSWORD already set wins
    assert os.environ["PGPASSWORD"] == "s@cret"


def test_prefect_yaml_points_at_the_flow():
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    [dep] = spec["deployments"]
    path, func = dep["entrypoint"].split(":")
    assert (ROOT / path).exists() and f"def {func}(" in (ROOT / path).read_text(encoding="utf-8")
    assert dep["schedules"] == [{"cron": "0 2 * * *", "timezone": "Asia/Tokyo"}]


def test_serve_command_is_documented():
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0 and "--cron" in result.output and "Asia/Tokyo" in result.output
