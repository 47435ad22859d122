# SignLink — `make run` serves the app, `make test` runs every check.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
STAMP  := $(VENV)/.installed-stamp
PIP_QUIET := --quiet --disable-pip-version-check

.PHONY: run test install migrate seed lint unit e2e bench system-packages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install $(PIP_QUIET) -e '.[dev]' 2>&1 | grep -v "is ignored: it is neither" || true
	$(BIN)/python -m pip install $(PIP_QUIET) --no-deps face_recognition face_recognition_models 2>&1 | grep -v "is ignored: it is neither" || true
	$(BIN)/python -c "import backend, litestar, pyhanko, weasyprint, cv2, face_recognition_models, face_recognition"
	$(BIN)/python -c "from backend.documents import fonts; fonts.build_compact_fonts()"
	touch $(STAMP)

install: $(STAMP)

system-packages:
	@bash scripts/system-packages.sh

migrate: install
	$(BIN)/python -m backend.manage migrate

seed: migrate
	$(BIN)/python -m backend.manage seed

run: seed
	$(BIN)/uvicorn backend.app:create_app --factory --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy backend ml

test: system-packages seed lint
	$(BIN)/python -m pytest -p no:cacheprovider
	@echo "--- the database-backed tests again, on PostgreSQL ---"
	bash scripts/with-postgres.sh $(BIN)/python -m pytest -p no:cacheprovider tests/integration

bench: system-packages seed
	$(BIN)/python -m bench
	$(BIN)/python -m bench.signing
	$(BIN)/python -m bench.handwriting
	$(BIN)/python -m bench.reuse
	$(BIN)/python -m bench.face
	$(BIN)/python -m bench.load
	$(BIN)/python -m bench.blobs

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache
