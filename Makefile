# Two commands from a fresh machine: `make run` (study + explorer) and `make test` (the suite).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
STUDY  ?= studies/publication_bias.toml
PORT   ?= 8501

.PHONY: run test study app lint report clean

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

clean:
	rm -rf $(VENV) data/*.duckdb data/*.duckdb.wal
