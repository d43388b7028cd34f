# The two commands of the README. Both create .venv and install what is needed first.
.PHONY: run test lint bench clean

run: .venv/.ready
	.venv/bin/plan-etl run

test: .venv/.ready .venv/.ocr-ready
	.venv/bin/python -m pytest --durations=20

lint: .venv/.ready
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

bench: .venv/.ready
	.venv/bin/python bench/extract.py

.venv/.ready: pyproject.toml scripts/bootstrap.sh
	bash scripts/bootstrap.sh
	touch .venv/.ready

# Debian's Tesseract + Japanese data for the OCR reader (scanned PDFs) and its tests.
.venv/.ocr-ready: scripts/install-ocr.sh
	bash scripts/install-ocr.sh
	touch .venv/.ocr-ready

clean:
	rm -rf curated/*.parquet curated/*.duckdb curated/.staging-*
