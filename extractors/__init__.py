"""Readers (bytes → cell grid, one per input format) and parsers (grid → records, one per
document kind). Parsers are pure functions: no I/O, no clock, no randomness."""
