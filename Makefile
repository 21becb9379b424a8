# The course's commands. Each one sets itself up: a virtual environment in .venv, the
# packages, and the datasets (from a local copy when there is one, else downloaded).
#   make course   execute every notebook headless (quick profile on a CPU, full on a GPU)
#   make test-fast  lint and the unit tests not marked slow (engine tests on a tiny net, the CLI in-process):
#                   the everyday edit, under 3 minutes on 2 cores
#   make test     lint, notebook hygiene, every unit test, and every notebook under nbval
#   make lab      open JupyterLab on notebooks/
#   make gpu-check-dry   benchmarks/gpu_check.sh shrunk for a CPU (the script itself is for a GPU)
#   make claims-dry      benchmarks/gpu_claims.sh and gpu_successors.sh shrunk for a CPU
#   make test-unit   the unit tests alone (or TESTS=tests/test_x.py); with another Python, in its own venv:
#                    make PYTHON=/usr/bin/python3.12 VENV=.venv-312 test-unit
#   make test-second-python  the tests marked second_python (tarfile's filters) on SECOND_PYTHON (default
#                    python3), sharing .venv's packages when it is the same minor version (CI's second Python)
#   make test-colab  Colab's package versions on Python 3.13 (colab/pip-freeze.txt): the course
#                    installed from a wheel must change none of them; notebooks run outside the checkout
#   make test-browser  the lessons in JupyterLab, driven in Chromium (widgets, upload, progress bars)
#   make student  the student edition in student/, by nbgrader's generate_assignment (docs/teaching.md)
#   make grade SUBMISSIONS=DIR  autograde DIR/<student>/NN_name.ipynb offline with nbgrader; print the scores

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
DATASETS := data/fashion-mnist/train.pt data/cifar10/train.pt
TESTS := tests
# The slowest tests by name after each run, so that they stay visible.
DURATIONS := --durations=15
# The teacher edition, every check strict (a failed one fails its cell), at a tenth of every training time
# budget (ALEXNET_TIME_SCALE: a slow, busy machine's stand-in; their asserts must hold for whatever model
# that gives). The Colab and browser checks run the quick profile's own budgets.
TIME_SCALE ?= 0.1
# Notebooks 05 and 06 read the checkpoints that 03 and 04 save, so 01-04 run first, then the rest;
# two at a time (xdist, one notebook per worker), one thread each. Their training is sized by a time
# budget, and their checks hold for whatever model it gives.
NOTEBOOKS_FIRST := $(sort $(wildcard notebooks/0[1-4]_*.ipynb))
NOTEBOOKS_THEN := $(filter-out $(NOTEBOOKS_FIRST),$(sort $(wildcard notebooks/*.ipynb)))
NBVAL := ALEXNET_PROFILE=quick ALEXNET_CHECKS=strict ALEXNET_TIME_SCALE=$(TIME_SCALE) OMP_NUM_THREADS=1 $(BIN)/pytest -n 2 --dist loadfile --nbval-lax --nbval-current-env $(DURATIONS)

# tcmalloc makes PyTorch on a CPU about a third faster (glibc malloc page-faults on every
# step); used when installed (Debian: libtcmalloc-minimal4), never required.
TCMALLOC := $(firstword $(wildcard /usr/lib/*-linux-gnu/libtcmalloc_minimal.so.4))
ifneq ($(TCMALLOC),)
export LD_PRELOAD := $(TCMALLOC)
endif

# Debian's chromium by default; Playwright drives it (its own browser download needs the internet).
CHROMIUM ?= /usr/bin/chromium

.PHONY: course test test-fast test-notebooks test-second-python test-unit test-colab test-browser lab data lint clean gpu-check-dry claims-dry student grade

course: $(INSTALLED) $(DATASETS)
	$(BIN)/python -m alexnet_lib course

test: $(INSTALLED) $(DATASETS)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/nbstripout --verify notebooks/*.ipynb student/*.ipynb
	OMP_NUM_THREADS=1 $(BIN)/pytest -n 2 $(DURATIONS) tests  # two workers, one thread each
	$(NBVAL) $(NOTEBOOKS_FIRST)
	$(NBVAL) $(NOTEBOOKS_THEN)
	@if [ -x "$(CHROMIUM)" ]; then echo "browser tests: not part of make test; run \`make test-browser\`"; \
	else echo "browser tests: not run (no Chromium at $(CHROMIUM)); install chromium, then run \`make test-browser\`"; fi

# The tests not marked slow: no subprocess, torchrun, make, nbgrader or notebook; one paper-net smoke test.
test-fast: $(INSTALLED) $(DATASETS)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	OMP_NUM_THREADS=1 $(BIN)/pytest -n 2 -m "not slow" $(DURATIONS) tests

# Every notebook under nbval, as make test runs them.
test-notebooks: $(INSTALLED) $(DATASETS)
	$(NBVAL) $(NOTEBOOKS_FIRST)
	$(NBVAL) $(NOTEBOOKS_THEN)

# The student edition (solutions replaced by stubs, hidden tests removed) and the points table of
# docs/teaching.md, both from the teacher notebooks in notebooks/; tests/test_classroom.py checks
# that the committed ones are up to date.
STUDENT_DIR ?= student
TEACHING_GUIDE ?= docs/teaching.md
student: $(INSTALLED)
	$(BIN)/python -m classroom student --out $(STUDENT_DIR) --guide $(TEACHING_GUIDE)

# Offline autograding in nbgrader's own SQLite gradebook, in GRADING_DIR (rebuilt each time),
# in the quick profile unless ALEXNET_PROFILE says otherwise, at a tenth of every training time budget
# (the lessons' own training is not graded; the checks train what they need themselves).
# It runs the learners' code: grade in a container or an account of its own.
GRADING_DIR ?= outputs/grading
grade: $(INSTALLED) $(DATASETS)
	@[ -n "$(SUBMISSIONS)" ] || { echo "error: say where the submissions are: make grade SUBMISSIONS=DIR (DIR/<student>/NN_name.ipynb)"; exit 2; }
	ALEXNET_PROFILE=$(or $(ALEXNET_PROFILE),quick) ALEXNET_TIME_SCALE=$(or $(ALEXNET_TIME_SCALE),0.1) \
	  $(BIN)/python -m classroom grade "$(SUBMISSIONS)" --course $(GRADING_DIR)

# JupyterLab in a real browser (tests/browser); screenshots in outputs/browser/.
test-browser: $(VENV)/.browser $(DATASETS)
	@[ -x "$(CHROMIUM)" ] || { echo "error: no Chromium at $(CHROMIUM); install it (Debian: apt-get install chromium) or set CHROMIUM=PATH"; exit 1; }
	CHROMIUM=$(CHROMIUM) $(BIN)/pytest -p no:xdist --browser tests/browser

$(VENV)/.browser: $(INSTALLED)
	$(BIN)/python -m pip install --quiet -e '.[browser]'
	touch $@

# benchmarks/gpu_check.sh shrunk to a few minutes on a CPU, writing only under outputs/ (CI runs it)
gpu-check-dry: $(INSTALLED) $(DATASETS)
	PYTHON=$(BIN)/python bash benchmarks/gpu_check.sh --dry-run

# benchmarks/gpu_claims.sh and gpu_successors.sh shrunk to a few minutes on a CPU, records under outputs/ only (CI runs it)
claims-dry: $(INSTALLED) $(DATASETS)
	PYTHON=$(BIN)/python bash benchmarks/gpu_claims.sh --dry-run
	PYTHON=$(BIN)/python bash benchmarks/gpu_successors.sh --dry-run

test-unit: $(INSTALLED) $(DATASETS)
	OMP_NUM_THREADS=1 $(BIN)/pytest -n 2 $(DURATIONS) $(TESTS)

# Only the interpreter's standard library differs on a second Python (fetch.py's tarfile branch), so
# only the tests marked second_python run there; .ci/second_python.sh builds a venv without pip that
# reads .venv's packages (same minor version: the same wheels), not a second 6 GB install.
SECOND_PYTHON ?= python3
test-second-python: $(INSTALLED) $(DATASETS)
	bash .ci/second_python.sh $(SECOND_PYTHON) $(VENV) .venv-second
	OMP_NUM_THREADS=1 .venv-second/bin/python -m pytest -p no:xdist -m second_python $(DURATIONS) tests

test-colab: $(DATASETS)
	bash .ci/colab_check.sh

# On 127.0.0.1 with JupyterLab's random token; as root (a container, CI) JupyterLab needs --allow-root.
# tests/browser/conftest.py starts it with these same flags.
LAB_FLAGS := --ServerApp.ip=127.0.0.1
ifeq ($(shell id -u),0)
LAB_FLAGS += --allow-root
endif

lab: $(INSTALLED) $(DATASETS)
	$(BIN)/jupyter lab $(LAB_FLAGS) notebooks

data: $(DATASETS)

data/%/train.pt: | $(INSTALLED)
	$(BIN)/python -m alexnet_lib data fetch $*

# nbgrader (test extra) adds its JupyterLab and server extensions, which belong on a course hub:
# the learners' lab (make lab, the browser tests) stays without them (docs/teaching.md re-enables them).
NBGRADER_SERVER_EXTENSIONS := $(addprefix nbgrader.server_extensions.,formgrader validate_assignment assignment_list course_list)
$(INSTALLED): requirements.txt pyproject.toml
	@# An existing .venv keeps its interpreter: a venv made again over it by another Python (say the PATH's
	@# python3 over Debian's /usr/bin/python3) mixes two standard libraries and breaks (ssl fails to import).
	[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -e '.[test]'
	$(BIN)/jupyter labextension disable @jupyter/nbgrader >/dev/null 2>&1
	$(BIN)/jupyter server extension disable --sys-prefix $(NBGRADER_SERVER_EXTENSIONS) >/dev/null 2>&1
	touch $@


clean:
	rm -rf $(VENV) .venv-default .venv-second .venv-colab outputs
