"""Sending email: one `Mailer` interface, two real transports.

`SmtpMailer` talks SMTP to any server (production relay, or the test suite's in-process
aiosmtpd); `OutboxMailer` writes each message as an RFC 5322 `.eml` file, the embedded default
for development. Nothing here knows about notifications: it sends an `OutgoingEmail`.

Errors are split the way a retrying worker needs them: `EmailTransientError` (try again later:
connection refused, timeouts, 4xx replies) and `EmailRejected` (retrying cannot help: 5xx replies).
"""

from __future__ import annotations

import os
import re
import smtplib
import ssl
import tempfile
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from sneakers_app.settings import VAR_DIR, Settings, get_settings

DEFAULT_TIMEOUT_SECONDS = 20.0
_TRUE = {"1", "true", "yes", "on"}
# CR, LF and every other control character: none of them belong in a header value.
_HEADER_UNSAFE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\u0085]+")


class EmailError(Exception):
    """Sending an email failed."""


class EmailTransientError(EmailError):
    """Worth retrying later (connection problems, timeouts, 4xx replies)."""


class EmailRejected(EmailError):
    """The server refused the message for good (5xx); retrying would only repeat it."""


class EmailConfigError(EmailError):
    """SMTP_URL cannot be understood."""


def header_text(value: str, *, max_length: int = 200) -> str:
    """User-provided text made safe for a header: control characters (CR/LF above all, which
    would start a new header) become single spaces; the result is trimmed to `max_length`."""
    cleaned = _HEADER_UNSAFE.sub(" ", value)
    return " ".join(cleaned.split())[:max_length]


def address_only(value: str) -> str:
    """The bare address of `value`, refused if it could smuggle anything into a header."""
    address = parseaddr(value)[1]
    if not address or _HEADER_UNSAFE.search(value) or "@" not in address:
        raise EmailRejected(f"not a usable email address: {value!r}")
    return address


@dataclass(frozen=True, kw_only=True)
class OutgoingEmail:
    """A message plus its envelope: the SMTP recipients are exactly `recipients`, never
    whatever the headers might say."""

    message: EmailMessage
    sender: str
    recipients: tuple[str, ...]


class Mailer(Protocol):
    def send(self, email: OutgoingEmail) -> None: ...


@dataclass(frozen=True, kw_only=True)
class SmtpConfig:
    host: str
    port: int
    implicit_tls: bool
    starttls: bool
    username: str | None
    password: str | None
    timeout: float


def parse_smtp_url(url: str) -> SmtpConfig:
    """`smtp://[user:password@]host[:port][?starttls=1&timeout=20]` or `smtps://...`
    (TLS from the first byte). Credentials may be percent-encoded."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise EmailConfigError("SMTP_URL must start with smtp:// or smtps://")
    if not parts.hostname:
        raise EmailConfigError("SMTP_URL has no host")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    implicit_tls = parts.scheme == "smtps"
    starttls = query.get("starttls", "").lower() in _TRUE
    if implicit_tls and starttls:
        raise EmailConfigError("SMTP_URL: smtps:// is encrypted already; starttls is for smtp://")
    try:
        port = parts.port or (465 if implicit_tls else 587 if starttls else 25)
        timeout = float(query.get("timeout", DEFAULT_TIMEOUT_SECONDS))
    except ValueError as exc:
        raise EmailConfigError(f"SMTP_URL: {exc}") from exc
    return SmtpConfig(
        host=parts.hostname,
        port=port,
        implicit_tls=implicit_tls,
        starttls=starttls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        timeout=timeout,
    )


def _classify(exc: smtplib.SMTPException) -> EmailError:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        permanent = bool(codes) and all(code >= 500 for code in codes)
        return (EmailRejected if permanent else EmailTransientError)(str(exc))
    if isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 500:
        return EmailRejected(f"{exc.smtp_code} {exc.smtp_error!r}")
    return EmailTransientError(str(exc) or type(exc).__name__)


class SmtpMailer:
    """One SMTP connection per message: a worker sends a handful at a time, and a fresh
    connection never carries a half-broken session into the next send."""

    def __init__(self, url: str, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self.config = parse_smtp_url(url)
        self._ssl_context = ssl_context

    def _context(self) -> ssl.SSLContext:
        return self._ssl_context or ssl.create_default_context()

    def send(self, email: OutgoingEmail) -> None:
        cfg = self.config
        try:
            smtp: smtplib.SMTP
            if cfg.implicit_tls:
                smtp = smtplib.SMTP_SSL(
                    cfg.host, cfg.port, timeout=cfg.timeout, context=self._context()
                )
            else:
                smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
            with smtp:
                smtp.ehlo()
                if cfg.starttls:
                    smtp.starttls(context=self._context())
                    smtp.ehlo()
                if cfg.username is not None:
                    smtp.login(cfg.username, cfg.password or "")
                smtp.send_message(
                    email.message, from_addr=email.sender, to_addrs=list(email.recipients)
                )
        except smtplib.SMTPException as exc:
            raise _classify(exc) from exc
        except OSError as exc:  # refused, reset, timed out, TLS handshake failed
            raise EmailTransientError(f"{type(exc).__name__}: {exc}") from exc


class OutboxMailer:
    """Writes `<folder>/<time>-<id>.eml` (CRLF line ends, as sent on the wire). The file appears
    complete or not at all: it is written under a temporary name and renamed."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def send(self, email: OutgoingEmail) -> None:
        message = email.message
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            data = message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
            stem = re.sub(r"[^A-Za-z0-9._-]", "_", str(message.get("Message-ID", "")).strip("<>"))
            name = f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{stem or uuid.uuid4().hex}.eml"
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".eml")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                os.replace(tmp, self.folder / name)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:  # a full disk or a permission problem may well pass
            raise EmailTransientError(f"cannot write to outbox {self.folder}: {exc}") from exc

    def messages(self) -> list[Path]:
        """The written messages, oldest first (for the development outbox view and tests)."""
        if not self.folder.is_dir():
            return []
        return sorted(self.folder.glob("[!.]*.eml"))


def outbox_folder() -> Path:
    return VAR_DIR / "outbox"


def mailer_from_settings(settings: Settings | None = None) -> Mailer:
    """SMTP when SMTP_URL is set, otherwise the local outbox folder."""
    settings = settings or get_settings()
    if settings.SMTP_URL:
        return SmtpMailer(settings.SMTP_URL)
    return OutboxMailer(outbox_folder())
