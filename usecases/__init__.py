"""Use cases: what every front door (CLI, agent tools, planner, UI) asks of the lower rooms, done once.

Each use case is a function over `Services` that returns a typed result with one `to_dict` (the CLI's
`--json`, the tools' artifacts and the UI's tables all read it) or raises a `UseCaseError` whose message
a user can act on. Nothing here formats text for a person or a model: the doors do.

Modules: `base` (services, errors, the shared vocabularies), `models` (resolve, score card, explain,
compare), `search` (recommend, card search), `trends` (trend views), `data` (fetch-and-score, Hub ingest,
rescore, status).

Imports: `store`, `trends`, `scoring`, `hub`, `cards`, `config`; heavy modules only inside the functions
that need them, so importing a use case stays cheap.
"""
