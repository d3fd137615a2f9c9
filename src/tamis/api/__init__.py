"""The HTTP API: `create_app()` builds it; one router module per resource."""

from tamis.api.app import create_app

__all__ = ["create_app"]
