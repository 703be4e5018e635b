#!/bin/sh
# Property test of the consent rules: a fixed-seed random sequence of
# harvests, configuration changes and cybil-review decisions, checked after
# every step against a model (see review_model.py). REVIEW_MODEL_SEED and
# REVIEW_MODEL_STEPS change the sequence.
exec /usr/bin/python3 "$(dirname "$0")/review_model.py" "$@"
