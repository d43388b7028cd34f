"""Warehouse URLs are stored (runs.warehouse) and printed without their password."""

from __future__ import annotations

import pytest

from pipeline.load.warehouse import WarehouseError, open_warehouse, postgres_dsn, redact


@pytest.mark.parametrize(
    ("url", "stored"),
    [
        ("postgresql://etl:s3cr:et@db.example:5432/plans", "postgresql://etl:***@db.example:5432/plans"),
        ("postgresql://:s3cret@db.example/plans", "postgresql://:***@db.example/plans"),
        (
            "postgresql://etl@db/plans?password=s3cret&sslmode=require",
            "postgresql://etl@db/plans?password=***&sslmode=require",
        ),
        (
            "postgresql+psycopg://etl@db/plans?sslmode=require&password=s3cret",
            "postgresql+psycopg://etl@db/plans?sslmode=require&password=***",
        ),
        ("postgresql://etl@db:5432/plans", "postgresql://etl@db:5432/plans"),
        ("duckdb:///curated/warehouse.duckdb", "duckdb:///curated/warehouse.duckdb"),
    ],
)
def test_passwords_are_masked_and_a_masked_url_connects_without_one(url, stored):
    assert redact(url) == stored and redact(stored) == stored
    if url.startswith("postgres"):
        dsn = postgres_dsn(stored)  # (plan-etl validate reads the URL back from runs)
        assert "***" not in dsn and "s3cr" not in dsn and dsn.startswith("postgresql://")
        assert ("sslmode=require" in dsn) == ("sslmode=require" in url)


def test_a_bad_url_is_printed_without_its_password():
    with pytest.raises(WarehouseError) as caught:
        open_warehouse("postgresq://etl:s3cret@db/plans")
    assert "s3cret" not in str(caught.value) and "etl:***@db" in str(caught.value)
