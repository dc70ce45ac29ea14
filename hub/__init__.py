"""Hub facts: the live Hub client and the snapshot reader, both yielding typed `ModelFacts`.

`scan.py` adds what a fetched model's files show: the Hub's own verdict, pickle imports, GGUF chat templates.
Nothing outside this room knows the Hub's wire format. Imports: `config` only.
"""
