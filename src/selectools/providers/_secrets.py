"""The secrets a transport must never show: found in its headers and base URL, masked in text.

`HttpTransport` (`_http.py`) collects them once (`_secret_values`, `split_userinfo`,
`_longest_first`) and masks them with `redact`, whole or where a quote of a body cut them
(`_mask_cut_secrets`).
"""

from __future__ import annotations

import base64
import urllib.parse
from collections.abc import Mapping

from ._status import CUT_MARK

# Headers whose values are secrets: `redact` removes them from a text.
_SECRET_HEADERS = frozenset({"authorization", "x-api-key", "x-goog-api-key", "api-key"})


def _secret_values(headers: Mapping[str, str]) -> list[str]:
    secrets: list[str] = []
    for name, value in headers.items():
        if name.lower() in _SECRET_HEADERS and value:
            secrets.append(value)
            scheme, _, token = value.partition(" ")
            if token and scheme.lower() == "bearer":
                secrets.append(token)
    return secrets


def _longest_first(secrets: list[str]) -> list[str]:
    # Longest first, so a token inside its "Bearer ..." header value is redacted whole.
    return sorted(set(secrets), key=len, reverse=True)


#: A URL's user name is masked only from this length: it is not always secret, and a short
#: one would mask ordinary words. Its password always is.
_MIN_URL_USER = 4


def split_userinfo(url: str) -> tuple[str, list[str]]:
    """`url` without its `user:password@` part, and the secrets that part holds: the
    password and the user name (as written and percent-decoded) and the Basic credentials
    aiohttp makes of them, which a server may echo."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url, []
    userinfo, _, host = parts.netloc.rpartition("@")
    shown = urllib.parse.urlunsplit(parts._replace(netloc=host))
    user, _, password = userinfo.partition(":")
    plain_user, plain_password = urllib.parse.unquote(user), urllib.parse.unquote(password)
    secrets = [password, plain_password]
    if len(plain_user) >= _MIN_URL_USER:
        secrets += [user, plain_user]
    basic = base64.b64encode(f"{plain_user}:{plain_password}".encode()).decode("ascii")
    secrets += [basic, f"Basic {basic}"]
    return shown, [secret for secret in secrets if secret]


#: The shortest start of a key that redaction masks where a quote was cut: shorter ones
#: ("sk-") say nothing about the key, and would mask ordinary words cut there.
_MIN_CUT_SECRET = 4


def _mask_cut_secrets(text: str, secrets: list[str]) -> str:
    """`text` with every start of a secret (`_MIN_CUT_SECRET` characters or more) that ends
    just before a `CUT_MARK` replaced by `***`."""
    pieces = text.split(CUT_MARK)
    for index, piece in enumerate(pieces[:-1]):  # each piece but the last ends at a cut
        for secret in secrets:
            for length in range(len(secret) - 1, _MIN_CUT_SECRET - 1, -1):
                if piece.endswith(secret[:length]):
                    piece = piece[:-length] + "***"
                    break
        pieces[index] = piece
    return CUT_MARK.join(pieces)
