"""What a use case can refuse, in the domain's words.

Use cases raise these; each entrypoint decides what they mean to its caller (the web
layer maps them to HTTP statuses in one table, a worker logs or retries), so the
same use case serves an HTTP request and a background job alike.
"""


class DomainError(Exception):
    """A use case refused its input; the message is safe to show the caller."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(DomainError):
    """The input cannot be read or breaks a rule (a bad lead, an unknown action)."""


class NotAuthenticated(DomainError):
    """Credentials are missing or wrong."""


class RegistrationClosed(DomainError):
    """New clients cannot sign themselves up on this deployment."""


class NotFound(DomainError):
    """The thing asked for does not exist (or is served elsewhere)."""


class LimitExceeded(DomainError):
    """The input is larger than a configured limit allows."""


class NoFactorValues(DomainError):
    """An outcome names a lead whose factor values are not known."""


class Unavailable(DomainError):
    """A store or service this use case needs cannot answer right now."""
