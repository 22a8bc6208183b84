"""A production configuration that passes every start-up rule (settings.production_problems),
for the tests of those rules. The Stripe values are stand-ins for what a deployment reads from
its secret store: shaped like nothing Stripe issues, and never sent anywhere."""

from __future__ import annotations

PRODUCTION_SETTINGS: dict[str, str] = {
    "SECRET_KEY": "x" * 40,
    "STRIPE_SECRET_KEY": "sk_from_the_deployments_secret_store",
    "STRIPE_PUBLISHABLE_KEY": "pk_from_the_deployments_configuration",
    "STRIPE_WEBHOOK_SECRET": "whsec_from_the_deployments_secret_store",
    "STRIPE_API_BASE": "",
    "STRIPE_JS_URL": "https://js.stripe.com/v3/",
    "REDIS_URL": "redis://redis:6379/0",
    "DATABASE_URL": "postgresql+psycopg://app:pw@db/sneakers",
}
