"""Evals of a shop assistant that answers customers' questions about the catalog."""
