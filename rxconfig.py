"""Reflex configuration: everything comes from sneakers_app.settings, nothing is hard-coded."""

import reflex as rx

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
    # Sessions live in the backend's memory: nothing of them is secret or lasting (a tab that
    # reconnects to a restarted backend hydrates again from its cookie). The disk manager
    # pickled every touched session and scanned its folder in the background, which a thousand
    # open product pages turned into stalls. REFLEX_STATE_MANAGER_MODE=redis with
    # REFLEX_REDIS_URL runs several backend workers instead.
    state_manager_mode="memory",
    plugins=[
        rx.plugins.SitemapPlugin(),
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(
                appearance="light", accent_color="green", gray_color="slate", radius="large"
            )
        ),
    ],
)
