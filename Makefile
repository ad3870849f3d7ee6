# Developer entry points. `make test` is the whole pipeline (what CI runs); the others run a
# part of it. ANSIBLE narrows the ansible-core versions, ARGS goes to every ansible-test call:
#   make sanity ANSIBLE=2.21 ARGS="--test pylint"
#   make integration ARGS=audit_log_info
SHELL := /bin/bash
ANSIBLE ?= 2.17 2.21
ARGS ?=
RUN = AUDIT_ANSIBLE_VERSIONS="$(ANSIBLE)" AUDIT_TEST_ARGS="$(ARGS)" bash scripts/test.sh

.PHONY: help test sanity units units-all property property-long emulator integration lint build tarball ee \
	docsite release galaxy eda postgres demo bench pin clean

help:
	@echo "make test         the whole pipeline: sanity, units, emulator, integration on"
	@echo "                  ansible-core $(ANSIBLE); the property tests; ansible-lint, docs and"
	@echo "                  changelog lint; build and galaxy-importer; tarball, ee, docsite,"
	@echo "                  release; eda and postgres (the event source end to end: Java 17+,"
	@echo "                  PostgreSQL's server programs)"
	@echo "make sanity | units | emulator | integration   one step (ANSIBLE=, ARGS=)"
	@echo "make units-all    the units with the newest ansible-core on every Python it supports"
	@echo "                  (make test: 3.9, its venv's and 3.13; the older one on its venv's)"
	@echo "make property     the Hypothesis properties (tests/property), ci profile, ansible-core 2.21"
	@echo "make property-long  the same with HYPOTHESIS_PROFILE=long (not part of make test)"
	@echo "make lint         ansible-lint, antsibull-docs and antsibull-changelog lint"
	@echo "make build        ansible-galaxy collection build, then galaxy-importer"
	@echo "make tarball | ee | docsite | release   one check of how users get the collection:"
	@echo "                  no generated file packed; EE + AWX credential through"
	@echo "                  ansible-runner; antsibull-docs site; changelog release dry run"
	@echo "make galaxy       those four"
	@echo "make eda          the Event-Driven Ansible end-to-end test (ansible-rulebook, Java 17+)"
	@echo "make postgres     the PostgreSQL checkpoint store and acknowledged delivery: tests/postgres,"
	@echo "                  then ansible-rulebook end to end (Debian's postgresql, Java 17+)"
	@echo "make demo | bench scripts/demo.sh | scripts/bench.sh"
	@echo "make pin          re-resolve requirements/*.in into the pinned requirements/*.txt"
	@echo "make clean        remove the venvs (.venv/) and the pipeline's work dir"

test:
	@$(RUN) --label "make-test"

sanity units property emulator integration build tarball ee docsite release eda postgres:
	@$(RUN) --label "make $@" $@

units-all:
	@AUDIT_UNIT_PYTHONS=all $(RUN) --label "make units-all" units

# The long profile (tests/property/conftest.py): random and many more examples, so a step
# timeout of a day unless AUDIT_STEP_TIMEOUT says otherwise.
property-long:
	@HYPOTHESIS_PROFILE=long AUDIT_STEP_TIMEOUT=$${AUDIT_STEP_TIMEOUT:-86400} \
		$(RUN) --label "make property-long" property

galaxy:
	@$(RUN) --label "make galaxy" tarball ee docsite release

lint:
	@$(RUN) --label "make lint" lint docs changelog

demo:
	bash scripts/demo.sh

bench:
	bash scripts/bench.sh

pin:
	bash scripts/pin.sh

clean:
	rm -rf .venv
	rm -rf "$$(source scripts/ansible_test_env.sh && audit_work_dir)"
