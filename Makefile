# Two commands from a fresh machine: `make run` (study + explorer) and `make test` (the suite).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
STUDY  ?= studies/publication_bias.toml
PORT   ?= 8501

.PHONY: run test study app lint report clean gpu-wheels gpu-rehearsal triton-check

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

# The packages the lent GPU machines' image lacks (Python 3.12, no network), for the device check
# (docs/gpu.md): installed here for that Python and packed as one xz archive, .whl/site.tar.xz (about 40 MB
# against 63 as wheels), which a device call carries beside the working tree, 64 MiB in all
# (benchmarks/device_carry.py). polars and duckdb at the oldest releases that fit.
GPU_WHEELS := polars==1.33.1 duckdb==1.3.2 pettingzoo==1.27.0 gymnasium==1.4.0 farama-notifications==0.0.6 \
	SALib==1.6.0 multiprocess==0.70.19 dill==0.4.1

# What a session lent a GPU runs there, in the repository's root, with .whl carried (docs/gpu.md).
GPU_CHECK_COMMAND := python3 -m benchmarks.device_carry unpack .whl/site.tar.xz /tmp \
	&& export PYTHONPATH=/tmp/site:$$PWD && python3 -m benchmarks.gpu_check --out $$OUT --budget 480

# The archive is built again only where the packages asked for, or its packing, change.
WHEELS_KEY := $(shell printf '%s' '$(GPU_WHEELS)' | sha256sum | cut -c1-12)

gpu-wheels: .whl/packed-$(WHEELS_KEY)
	$(BIN)/python -m benchmarks.device_carry fits .whl

.whl/packed-$(WHEELS_KEY): benchmarks/device_carry.py | $(STAMP)
	mkdir -p .git/info && (grep -qx '/.whl/' .git/info/exclude || echo '/.whl/' >> .git/info/exclude)
	rm -rf .whl && $(BIN)/python -m pip install --quiet --no-deps --no-compile --only-binary=:all: \
		--python-version 3.12 --implementation cp --platform manylinux_2_28_x86_64 \
		--platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --target .whl/build/site $(GPU_WHEELS)
	$(BIN)/python -m benchmarks.device_carry pack .whl/build/site .whl/site.tar.xz.part
	mv .whl/site.tar.xz.part .whl/site.tar.xz && rm -rf .whl/build && touch $@

# The device check rehearsed here before a device's minutes are spent on it: the working tree copied as a
# call sends it, and the command above run in it by Python 3.12 with the GPU image's torch (2.11, a CUDA
# build: about 4.7 GB), NumPy and other packages, on the CPU at small sizes (--device cpu --quick). What it
# finds is what the device would have found first: a package the image lacks, a test or a step that fails
# with the image's versions. It unpacks the carried packages into /tmp/site, as the device does.
DEVICE_PYTHON ?= $(shell python3.12 -c 'import sys; print(sys.executable)' 2>/dev/null)
DEVICE_VENV := .venv-device
DEVICE_IMAGE := torch==2.11.0 numpy==2.5.2 pandas pyarrow scipy matplotlib networkx tqdm pytest
REHEARSAL := $(or $(TMPDIR),/tmp)/gpu-rehearsal

$(DEVICE_VENV)/.installed: Makefile
	test -n "$(DEVICE_PYTHON)" || (echo "gpu-rehearsal needs the GPU image's Python 3.12: set DEVICE_PYTHON" \
		&& false)
	test -x $(DEVICE_VENV)/bin/python || $(DEVICE_PYTHON) -m venv $(DEVICE_VENV)
	$(DEVICE_VENV)/bin/python -m pip install --quiet $(DEVICE_IMAGE)
	touch $@

gpu-rehearsal: gpu-wheels $(DEVICE_VENV)/.installed
	rm -rf $(REHEARSAL) && mkdir -p $(REHEARSAL)/out
	$(BIN)/python -m benchmarks.device_carry copy $(REHEARSAL)/tree .whl
	cd $(REHEARSAL)/tree && PATH="$(CURDIR)/$(DEVICE_VENV)/bin:$$PATH" OUT=$(REHEARSAL)/out \
		sh -c '$(GPU_CHECK_COMMAND) --device cpu --quick'

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
