"""Cards: model-card knowledge beyond `hub.card`'s heuristic facts.

Chunking for search, offline embeddings, and the LLM extractor.

Imports: `hub`, `prompts` (text resources), `config`.
"""
