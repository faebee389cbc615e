# Each target is a thin alias for scripts/dev.py, which needs only Python 3.11+.
PYTHON ?= python3

.PHONY: run test check package-check contract conformance bench

run:  ## set up, seed the SQLite ledger, print the editor key (kept in .factledger-dev-key), serve on http://127.0.0.1:8000
	$(PYTHON) scripts/dev.py run

test:  ## set up, then run every test (PostgreSQL tests skip with a reason when it is down, fail under CI=true)
	$(PYTHON) scripts/dev.py test

check:  ## ruff, ruff format --check, mypy --strict, hadolint (Dockerfile), compose schema (compose.yaml)
	$(PYTHON) scripts/dev.py check

package-check:  ## build the wheel, install it into a new venv, run factledger from elsewhere
	$(PYTHON) scripts/dev.py package-check

contract:  ## CI's contract check on SQLite and PostgreSQL, when it is beside the clone (else skipped, except under CI=true)
	$(PYTHON) scripts/dev.py contract

conformance:  ## schemathesis drives `factledger serve` from its OpenAPI document, both backends
	$(PYTHON) scripts/dev.py conformance

bench:  ## set up, then the benchmarks of docs/benchmarks.md, each against a bare baseline (quick: make bench ARGS=--quick)
	$(PYTHON) scripts/dev.py bench $(ARGS)
