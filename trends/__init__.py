"""Trends: Open LLM Leaderboard data (loaded, normalized, deduplicated) and the trend views and plots.

Imports: `store`, `config`.
"""
