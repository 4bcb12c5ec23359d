# The two commands README.md gives. Both install what they need on a new machine.
PYTHON ?= python3
PIP := $(PYTHON) -m pip

.PHONY: run test test-fast install install-test system-deps slim

## run: install the workbench (and Debian's chromium + CJK fonts: the PDF briefs are printed
## with headless Chromium) and run the main job: the briefs of the city and its four
## counties from the embedded default dataset, in outputs/ (index.html links them)
run: install system-deps
	wuwei briefs --out outputs

## test: install the test extra (and headless Chromium + CJK fonts), run the whole suite
test: install-test system-deps
	$(PYTHON) -m pytest

## test-fast: the everyday tier (catalogue, targets, store, ingest, models, engine on small
## inputs, layering, schemas, CLI errors): every test not marked `slow` (notebooks, kernels,
## servers, browser, Dask, subprocess CLIs, large simulations). Installs nothing.
test-fast:
	$(PYTHON) -m pytest -m "not slow" -q

install:
	$(PIP) install -q -e .
	$(MAKE) -s slim

install-test:
	$(PIP) install -q -e ".[test]"
	$(MAKE) -s slim

# rfc3987-syntax (pulled in by jupyter-events' jsonschema extras) builds a grammar on every
# import of altair/nbformat/papermill/voila: 2.4 s each time. Nothing here needs it.
slim:
	-$(PIP) uninstall -y -q rfc3987-syntax 2>/dev/null

# Debian's chromium (PDF briefs, browser tests) and Noto CJK fonts (Chinese glyphs in PDF/PNG).
system-deps:
	@if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -q "Noto Sans CJK"; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-noto-cjk; \
	fi
