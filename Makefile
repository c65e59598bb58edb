.PHONY: setup demo test test-latest lint bench

setup:
	./scripts/setup.sh

demo:
	./scripts/demo.sh

test:
	./scripts/test.sh

# The suite on the newest releases; when it passes, requirements/verified.txt is updated to them.
test-latest:
	./scripts/test_latest.sh

lint: setup
	.venv/bin/ruff check core plugins tests bench examples

bench: setup
	.venv/bin/python bench/run_all.py
