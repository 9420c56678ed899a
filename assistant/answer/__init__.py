"""Answer building: coverage gate, prompt assembly, guarded generation, citation attribution."""
