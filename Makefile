# Two commands from a fresh machine: `make run` (study + explorer) and `make test` (the suite).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
STUDY  ?= studies/publication_bias.toml
PORT   ?= 8501

.PHONY: run test study app lint report clean gpu-wheels triton-check

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: study app

study: $(STAMP)
	$(BIN)/python -m studies run $(STUDY)

app: $(STAMP)
	@echo "Explorer: http://127.0.0.1:$(PORT)  (Ctrl-C to stop)"
	$(BIN)/streamlit run app/streamlit_app.py --server.address 127.0.0.1 --server.port $(PORT) \
		--server.headless true --browser.gatherUsageStats false --client.toolbarMode viewer

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

REPORT_STUDIES := studies/publication_bias.toml studies/publication_sensitivity.toml studies/election_rules.toml \
	studies/learner_families.toml studies/natural_selection_of_bad_science.toml

report: $(STAMP)
	for study in $(REPORT_STUDIES); do $(BIN)/python -m studies run $$study --quiet || exit 1; done
	$(BIN)/python -m studies figures

# The packages the lent GPU machines' image lacks (Python 3.12, no network), as wheels for the device check
# (docs/gpu.md): polars and duckdb at the oldest releases the project allows, so that with the code they fit
# the 64 MiB a device call may carry.
GPU_WHEELS := polars==1.33.1 duckdb==1.3.2 pettingzoo==1.27.0 gymnasium==1.4.0 farama-notifications==0.0.6 \
	SALib==1.6.0 multiprocess==0.70.19 dill==0.4.1

gpu-wheels: $(STAMP)
	mkdir -p .git/info && (grep -qx '/.whl/' .git/info/exclude || echo '/.whl/' >> .git/info/exclude)
	rm -rf .whl && $(BIN)/python -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
		--implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
		--platform manylinux2014_x86_64 -d .whl $(GPU_WHEELS)
	du -sh .whl

# The Triton check (docs/gpu.md): every fused kernel compiled for a GPU, to an H100's machine code, and its
# Triton code run in Triton's interpreter against eager's numbers, with no GPU. It needs a CUDA build of
# torch (about 4.7 GB, with Triton), in a venv of its own beside the project's CPU one: TRITON_TORCH
# 2.11.0 is what the lent GPU machines carry, 2.13.0 the release pinned. NumPy below 2.4: Triton's
# interpreter reads a scalar argument as int() of a one-element array, which NumPy 2.4 refuses.
TRITON_TORCH ?= 2.11.0
CUDA_VENV := .venv-cuda-$(TRITON_TORCH)
PROJECT_DEPS = $(shell $(PYTHON) -c "import tomllib; print(' '.join(repr(d) for d in \
	tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'] if not d.startswith('torch')))")

$(CUDA_VENV)/.installed: pyproject.toml
	test -x $(CUDA_VENV)/bin/python || $(PYTHON) -m venv $(CUDA_VENV)
	$(CUDA_VENV)/bin/python -m pip install --quiet torch==$(TRITON_TORCH) $(PROJECT_DEPS) 'numpy<2.4'
	$(CUDA_VENV)/bin/python -c "import torch, sys; sys.exit(torch.version.cuda is None and \
		'torch ' + torch.__version__ + ' is a CPU build: remove $(CUDA_VENV) and see docs/gpu.md')"
	touch $@

triton-check: $(CUDA_VENV)/.installed
	PYTHONPATH=$(CURDIR) $(CUDA_VENV)/bin/python -m benchmarks.triton_check

clean:
	rm -rf $(VENV) data/*.duckdb data/*.duckdb.wal
