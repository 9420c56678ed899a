"""Index on disk: build into a new generation folder, verify, swap a pointer; verify before parse."""
