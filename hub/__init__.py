"""Hub facts: the live Hub client and the snapshot reader, both yielding typed `ModelFacts`.

Nothing outside this room knows the Hub's wire format. Imports: `config` only.
"""
