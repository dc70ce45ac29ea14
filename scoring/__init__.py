"""Scoring: checks (pure functions from facts to findings), the versioned method file, aggregation.

Imports: `hub` (facts) and `config`. Never the store: the store builds a `ScoringContext` and passes it in.
"""
