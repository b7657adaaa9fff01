"""HubSpot's webhook request signatures (HubSpot's API documentation).

v3 = base64(HMAC-SHA256(secret, METHOD + URI + body + timestamp)) over the URI with
exactly twelve escapes decoded; v1 = hex(SHA-256(secret + body)).
"""

import base64
import hashlib
import hmac

V3_DECODED = {
    "%3A": ":",
    "%2F": "/",
    "%3F": "?",
    "%40": "@",
    "%21": "!",
    "%24": "$",
    "%27": "'",
    "%28": "(",
    "%29": ")",
    "%2A": "*",
    "%2C": ",",
    "%3B": ";",
}


def decode_uri(uri: str) -> str:
    """Decode only the escapes HubSpot decodes before signing (case-insensitive)."""
    out, i = [], 0
    while i < len(uri):
        chunk = uri[i : i + 3].upper()
        if chunk in V3_DECODED:
            out.append(V3_DECODED[chunk])
            i += 3
        else:
            out.append(uri[i])
            i += 1
    return "".join(out)


def sign_v3(secret: str, method: str, uri: str, body: str, timestamp: str) -> str:
    """The `X-HubSpot-Signature-v3` value."""
    source = f"{method}{decode_uri(uri)}{body}{timestamp}".encode()
    digest = hmac.new(secret.encode(), source, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def sign_v1(secret: str, body: str) -> str:
    """The `X-HubSpot-Signature` value with `X-HubSpot-Signature-Version: v1`."""
    return hashlib.sha256(f"{secret}{body}".encode()).hexdigest()


def headers(secret: str, uri: str, body: str, timestamp_ms: int) -> dict[str, str]:
    """Every signature header HubSpot sends with a CRM webhook POST."""
    stamp = str(timestamp_ms)
    return {
        "Content-Type": "application/json",
        "User-Agent": "HubSpot Connect 2.0 (http://dev.hubspot.com/)",
        "X-HubSpot-Signature": sign_v1(secret, body),
        "X-HubSpot-Signature-Version": "v1",
        "X-HubSpot-Signature-v3": sign_v3(secret, "POST", uri, body, stamp),
        "X-HubSpot-Request-Timestamp": stamp,
    }
