"""The public REST API under /api/v1 (docs/api.md): FastAPI, mounted into the backend beside
the Stripe webhook and the health endpoints (sneakers_app/api.py)."""

from sneakers_app.public_api.app import app

__all__ = ["app"]
