"""REST API (FastAPI) over the services; ``create_app`` builds the whole web application."""

from lantai.api.app import create_app

__all__ = ["create_app"]
