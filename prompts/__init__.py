"""Prompts: text files loaded by name and rendered strictly (a missing variable is an error)."""
