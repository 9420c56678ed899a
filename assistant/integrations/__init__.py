"""Adapters for other frameworks (each framework touched in exactly one module)."""
