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
    plugins=[
        rx.plugins.SitemapPlugin(),
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(
                appearance="light", accent_color="green", gray_color="slate", radius="large"
            )
        ),
    ],
)
