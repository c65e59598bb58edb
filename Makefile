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

# ruff everywhere; mypy on core, every plugin and the template (the typed plugin contract), per [tool.mypy].
lint: setup
	.venv/bin/ruff check core plugins tests bench examples scripts
	.venv/bin/mypy core/src/olivine $$(ls -d plugins/*/src/olivine_* | grep -v egg-info) examples/plugin-template/src/olivine_acme

bench: setup
	.venv/bin/python bench/run_all.py
