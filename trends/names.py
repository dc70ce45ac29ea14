"""The names trend views and leaderboard rows use, in a module with no imports, so a door can offer them cheaply."""

TYPES = ("pretrained", "continuously_pretrained", "fine_tuned", "chat", "merge", "unknown")
FAMILIES = ("Llama", "Mixtral", "Mistral", "Qwen2", "Gemma", "Phi", "OPT", "GPT2", "GPT-NeoX", "Other")
VIEW_NAMES = ("types", "authors", "benchmarks", "architectures", "base-models", "releases", "history", "movers",
              "alerts", "leaders", "lineage")  # fmt: skip
UNITS = ("day", "week", "month")
