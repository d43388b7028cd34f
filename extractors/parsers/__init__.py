"""Kind parsers: grid → records, one module per document kind."""
