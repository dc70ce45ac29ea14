"""UI: the Gradio app, a pure adapter from graph events and use-case results to chat messages and figures.

Imports: `agent`, `tools`, `usecases`, `trends` (view names, parameters, plots), `scoring`, `config`.
"""
