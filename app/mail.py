"""Sending mail over SMTP: the adapter behind the services' Mailer port, configured by
MAIL_URL and MAIL_FROM when EMAIL_VERIFICATION is on.

MAIL_URL names the server: `smtp://user:pass@host:587?starttls=1` (plain SMTP,
upgraded with STARTTLS), `smtps://user:pass@host:465` (TLS from the first byte) or
`smtp://host:25` (no TLS, no login: a relay on a trusted network).
"""

import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

_DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
_TRUE = {"1", "true", "yes", "on"}
_URL_EXAMPLE = "e.g. smtp://user:pass@host:587?starttls=1"


class SmtpMailer:
    """Hands one message at a time to an SMTP server (a connection per message:
    verification mail is rare, and a fresh connection never goes stale)."""

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        username: str | None = None,
        password: str | None = None,
        implicit_tls: bool = False,
        starttls: bool = False,
        timeout: float = 10.0,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.username = username
        self._password = password
        self.implicit_tls = implicit_tls
        self.starttls = starttls
        self._timeout = timeout

    @classmethod
    def from_url(cls, url: str, sender: str) -> "SmtpMailer":
        """Read MAIL_URL; the error names what is wrong, never the password."""
        parts = urlsplit(url)
        if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
            raise ValueError(
                f"MAIL_URL must be smtp:// or smtps:// with a host, {_URL_EXAMPLE}"
            )
        try:
            port = parts.port or _DEFAULT_PORTS[parts.scheme]
        except ValueError:
            raise ValueError(f"MAIL_URL has an invalid port, {_URL_EXAMPLE}") from None
        query = parse_qs(parts.query)
        starttls = query.get("starttls", ["0"])[-1].strip().lower() in _TRUE
        if "@" not in sender:
            raise ValueError("MAIL_FROM must be an email address")
        return cls(
            parts.hostname,
            port,
            sender,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            implicit_tls=parts.scheme == "smtps",
            starttls=starttls,
        )

    def send(self, to: str, subject: str, body: str) -> None:
        """Deliver a plain-text message; raises smtplib/OSError errors when the
        server cannot take it, so the job that sends it is retried."""
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2])
        message.set_content(body)
        with self._connect() as smtp:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self._password or "")
            smtp.send_message(message)

    def _connect(self) -> smtplib.SMTP:
        if self.implicit_tls:
            return smtplib.SMTP_SSL(
                self.host,
                self.port,
                timeout=self._timeout,
                context=ssl.create_default_context(),
            )
        return smtplib.SMTP(self.host, self.port, timeout=self._timeout)


def mailer_from_settings(settings: Mapping[str, Any]) -> SmtpMailer | None:
    """The mailer of email verification, or None when EMAIL_VERIFICATION is off;
    refuses to start without a server and a sender to mail keys from."""
    if not settings.get("EMAIL_VERIFICATION"):
        return None
    url, sender = settings.get("MAIL_URL"), settings.get("MAIL_FROM")
    if not url or not sender:
        raise RuntimeError(
            "EMAIL_VERIFICATION needs MAIL_URL (the SMTP server, "
            f"{_URL_EXAMPLE}) and MAIL_FROM (the sender address)"
        )
    try:
        return SmtpMailer.from_url(url, sender)
    except ValueError as error:
        raise RuntimeError(str(error)) from None
