"""Reflex configuration: everything comes from sneakers_app.settings, nothing is hard-coded."""

import reflex as rx
from reflex.constants import StateManagerMode

from sneakers_app.settings import get_settings

settings = get_settings()

config = rx.Config(
    app_name="sneakers_app",
    telemetry_enabled=False,
    frontend_port=settings.FRONTEND_PORT,
    backend_port=settings.BACKEND_PORT,
    api_url=settings.API_URL,
    deploy_url=settings.APP_URL,
    show_built_with_reflex=False,
    # Where page sessions live (REFLEX_STATE_MANAGER_MODE). "memory" (development, the
    # default): in the one backend process; nothing of them is secret or lasting (a tab that
    # reconnects to a restarted backend hydrates again from its browser storage). The disk
    # manager pickled every touched session and scanned its folder in the background, which a
    # thousand open product pages turned into stalls. "redis": in Redis, shared by every
    # backend worker (`python -m sneakers_app web --workers N`), so a tab may reconnect to any
    # of them and carry on.
    state_manager_mode=StateManagerMode(settings.REFLEX_STATE_MANAGER_MODE),
    redis_url=settings.sessions_redis_url or None,
    plugins=[
        rx.plugins.SitemapPlugin(),
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(
                appearance="light", accent_color="green", gray_color="slate", radius="large"
            )
        ),
    ],
)
