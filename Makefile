# Developer entry points. `make test` is the whole pipeline (what CI runs); the others run a
# part of it. ANSIBLE narrows the ansible-core versions, ARGS goes to every ansible-test call:
#   make sanity ANSIBLE=2.21 ARGS="--test pylint"
#   make integration ARGS=audit_log_info
SHELL := /bin/bash
ANSIBLE ?= 2.17 2.21
ARGS ?=
RUN = AUDIT_ANSIBLE_VERSIONS="$(ANSIBLE)" AUDIT_TEST_ARGS="$(ARGS)" bash scripts/test.sh

.PHONY: help test sanity units emulator integration lint build tarball ee docsite release galaxy eda demo bench pin clean

help:
	@echo "make test         the whole pipeline: sanity, units, emulator, integration on"
	@echo "                  ansible-core $(ANSIBLE); ansible-lint, docs and changelog lint;"
	@echo "                  build and galaxy-importer"
	@echo "make sanity | units | emulator | integration   one step (ANSIBLE=, ARGS=)"
	@echo "make lint         ansible-lint, antsibull-docs and antsibull-changelog lint"
	@echo "make build        ansible-galaxy collection build, then galaxy-importer"
	@echo "make tarball | ee | docsite | release   one check of how users get the collection:"
	@echo "                  no generated file packed; EE + AWX credential through"
	@echo "                  ansible-runner; antsibull-docs site; changelog release dry run"
	@echo "make galaxy       those four"
	@echo "make eda          the Event-Driven Ansible end-to-end test (ansible-rulebook, Java 17+)"
	@echo "make demo | bench scripts/demo.sh | scripts/bench.sh"
	@echo "make pin          re-resolve requirements/*.in into the pinned requirements/*.txt"
	@echo "make clean        remove the venvs (.venv/) and the pipeline's work dir"

test:
	@$(RUN) --label "make-test"

sanity units emulator integration build tarball ee docsite release eda:
	@$(RUN) --label "make $@" $@

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
