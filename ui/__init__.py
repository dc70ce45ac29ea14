"""UI: the Gradio app, a pure adapter from graph events and tool results to chat messages and figures.

Imports: `agent`, `tools`, `store`, `config`.
"""
