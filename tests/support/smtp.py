"""A real SMTP server in the test process: aiosmtpd's Controller on a free loopback port.

It speaks real SMTP (optionally AUTH, STARTTLS, or TLS from the first byte with a self-signed
certificate made by the openssl command) and keeps every message it accepts, with its envelope,
so a test can assert exactly what was sent and to whom.
"""

from __future__ import annotations

import email
import email.policy
import shutil
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.support.servers import free_port


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class Collector:
    """The aiosmtpd handler: accepts every message and remembers it."""

    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.received.append(
                Received(
                    mail_from=envelope.mail_from,
                    rcpt_tos=tuple(envelope.rcpt_tos),
                    data=bytes(envelope.original_content or envelope.content),
                )
            )
        return "250 Message accepted for delivery"

    def messages(self) -> list[Received]:
        with self.lock:
            return list(self.received)

    def clear(self) -> None:
        with self.lock:
            self.received.clear()


@dataclass
class SmtpServer:
    controller: Controller
    collector: Collector
    port: int
    scheme: str
    query: str = ""
    credentials: tuple[str, str] | None = None

    @property
    def url(self) -> str:
        auth = f"{self.credentials[0]}:{self.credentials[1]}@" if self.credentials else ""
        return f"{self.scheme}://{auth}127.0.0.1:{self.port}{self.query}"

    @property
    def messages(self) -> list[Received]:
        return self.collector.messages()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        """aiosmtpd stores a message before it answers 250, so this rarely waits at all."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.messages
            if len(got) >= count:
                return got
            time.sleep(0.02)
        return self.messages

    def stop(self) -> None:
        self.controller.stop()


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made by the openssl command."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("the openssl command is needed to make a test certificate")
    cert, key = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def start_smtp(
    *,
    credentials: tuple[str, str] | None = None,
    tls: tuple[Path, Path] | None = None,
    implicit_tls: bool = False,
) -> SmtpServer:
    """Plain SMTP; with `tls` (cert, key) it offers STARTTLS (required), or speaks TLS from the
    first byte when `implicit_tls`. With `credentials` it requires AUTH."""
    collector = Collector()
    kwargs: dict[str, Any] = {}
    query = ""
    scheme = "smtp"
    if tls is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(tls[0]), str(tls[1]))
        if implicit_tls:
            kwargs["ssl_context"] = context
            scheme = "smtps"
        else:
            kwargs["tls_context"] = context
            kwargs["require_starttls"] = True
            query = "?starttls=1"
    if credentials is not None:
        user, password = credentials

        def authenticator(
            server: Any, session: Any, envelope: Any, mechanism: str, data: Any
        ) -> AuthResult:
            ok = (
                isinstance(data, LoginPassword)
                and data.login == user.encode()
                and data.password == password.encode()
            )
            return AuthResult(success=ok, handled=False)

        # aiosmtpd 1.4 only counts STARTTLS as "TLS" for AUTH; with TLS from the first byte the
        # connection is encrypted all the same, so AUTH must not wait for a STARTTLS.
        kwargs.update(
            authenticator=authenticator,
            auth_required=True,
            auth_require_tls=tls is not None and not implicit_tls,
        )
    port = free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return SmtpServer(
        controller=controller,
        collector=collector,
        port=port,
        scheme=scheme,
        query=query,
        credentials=credentials,
    )
