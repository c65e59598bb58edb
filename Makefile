.PHONY: setup demo test lint bench

setup:
	./scripts/setup.sh

demo:
	./scripts/demo.sh

test:
	./scripts/test.sh

lint: setup
	.venv/bin/ruff check core plugins tests bench examples

bench: setup
	.venv/bin/python bench/run_all.py
