#!/usr/bin/env bash
# npm run bench: set up what the benchmarks need (idempotent; the Keras venv is made by
# bench/setup-keras.sh when the training benchmark first needs it), then run them.
# Tables go to stdout and bench/results/; set-up and progress go to stderr.
# Knobs (environment): see bench/settings.ts; BENCH_QUICK=1 is a smoke run of a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >&2
exec npx tsx bench/run.ts
