"""The science, as pure functions on numpy arrays: no database, no files, no global state."""
