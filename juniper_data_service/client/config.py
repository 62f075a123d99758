"""Where the client connects and with which key: base-URL normalisation and API-key lookup.

Both follow the earlier ``juniper_data_client`` to the letter (CONTRACT section 6), so that a
configuration written for it (a URL with ``/v1``, a Docker secret named by an environment
variable) keeps working. Nothing here touches the network.
"""

from __future__ import annotations

import os
import re
from typing import Final
from urllib.parse import urlsplit, urlunsplit

DEFAULT_BASE_URL: Final = "http://localhost:8100"
API_KEY_ENV: Final = "JUNIPER_DATA_API_KEY"
API_KEY_FILE_ENV: Final = "JUNIPER_DATA_API_KEY_FILE"
API_KEY_HEADER: Final = "X-API-Key"

# "host:8100" has no scheme although urlsplit would read "host" as one: require "://".
_HAS_SCHEME: Final = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def normalize_base_url(url: str) -> str:
    """Return the service root for ``url``, as the earlier client did.

    Spaces are stripped, ``http://`` is added when there is no scheme, the query and fragment are
    dropped, trailing ``/`` are stripped and then one trailing ``/v1`` is removed.

    Parameters
    ----------
    url : str
        What a user wrote: ``"localhost:8100"``, ``"http://data:8100/v1/"``, ...

    Returns
    -------
    str
        E.g. ``"http://localhost:8100"``; API paths (``/v1/...``) are appended to it.
    """
    url = url.strip()
    if not _HAS_SCHEME.match(url):
        url = f"http://{url}"
    parts = urlsplit(url)
    root = urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")).rstrip("/")
    if root.endswith("/v1"):
        root = root[: -len("/v1")]
    return root


def resolve_api_key(api_key: str | None = None) -> str | None:
    """Return the API key to send: the argument, else the key file, else the environment.

    Parameters
    ----------
    api_key : str or None
        An explicit key; wins when non-empty.

    Returns
    -------
    str or None
        The first non-empty of: ``api_key``; the stripped content of the file named by
        ``JUNIPER_DATA_API_KEY_FILE`` (a Docker secret); ``JUNIPER_DATA_API_KEY``. ``None`` when
        there is none. An unreadable or blank key file is treated as absent (compat), so the
        environment variable still applies.
    """
    if api_key:
        return api_key
    key_file = os.environ.get(API_KEY_FILE_ENV)
    if key_file:
        try:
            from_file = open(key_file, encoding="utf-8").read().strip()  # noqa: SIM115
        except OSError:
            from_file = ""
        if from_file:
            return from_file
    return os.environ.get(API_KEY_ENV) or None
