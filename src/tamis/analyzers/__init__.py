"""Analyzers: sources of signals. One module per analyzer; `registry` finds them by name."""

from tamis.analyzers.base import Analyzer, check_conformance
from tamis.analyzers.registry import available, get_analyzer

__all__ = ["Analyzer", "available", "check_conformance", "get_analyzer"]
