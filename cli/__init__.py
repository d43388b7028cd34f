"""The `plan-etl` command line: a thin shell over the library and the flow."""
