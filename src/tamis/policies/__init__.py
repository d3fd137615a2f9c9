"""Shipped policies (JSON), read with importlib.resources."""
