"""The `whichmodel` command line. Imports any room; nothing imports it."""
