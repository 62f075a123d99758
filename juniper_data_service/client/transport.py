"""An httpx transport whose connections read up to 1 MiB per ``recv``, for the client's downloads.

Why it exists: httpcore's HTTP/1.1 connection asks its network stream for 64 KiB at a time
(``HTTP11Connection.READ_NUM_BYTES``) and every block then goes through h11's receive buffer and a
few Python calls. On loopback that per-block cost, not the server, caps a large artifact download
near 0.6-0.9 GB/s on a 2-core machine, while a plain socket reads the same body at 2-3 GB/s. Asking
for 1 MiB per read lets each trip through that Python code carry up to 16 times as many bytes.

The cut between layers: httpcore's connection pools take a ``network_backend``, its documented
extension point for custom I/O. :class:`LargeReadBackend` wraps httpcore's own synchronous backend
and only raises the size of each read to at least ``read_bytes``; connecting, TLS, timeouts,
keep-alive checks and errors all stay httpcore's. httpx's ``HTTPTransport`` has no parameter for a
backend, so :class:`LargeReadTransport` is a small ``httpx.BaseTransport`` (httpx's documented
interface for custom transports) over such a pool, converting requests, responses and httpcore's
exceptions the way ``httpx.HTTPTransport`` does. It uses public httpx and httpcore names only.

It does not speak to proxies: :func:`environment_proxies` tells the client when the environment
names one, and the client then keeps httpx's stock transport, which honours them.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterable, Iterator
from typing import Any, Final

import httpcore
import httpx

__all__ = ["READ_BYTES", "LargeReadBackend", "LargeReadStream", "LargeReadTransport", "environment_proxies"]

#: Bytes asked for per ``recv``: 16 times httpcore's 64 KiB. A read returns what the socket holds,
#: up to this; on a slow link that is less, and nothing waits for the block to fill.
READ_BYTES: Final = 1 << 20

#: httpx's own defaults for a client's pool (``httpx.Client()`` uses them when given no limits).
DEFAULT_LIMITS: Final = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)

# Most specific first, as httpx maps them: an httpcore.ReadTimeout becomes an httpx.ReadTimeout,
# which the client catches as httpx.TimeoutException.
_EXCEPTIONS: Final[tuple[tuple[type[Exception], type[httpx.TransportError]], ...]] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


def _as_httpx_error(exc: Exception) -> httpx.TransportError | None:
    """The exception httpx itself raises for httpcore's ``exc``; None when it is not httpcore's."""
    for core_type, httpx_type in _EXCEPTIONS:
        if isinstance(exc, core_type):
            return httpx_type(str(exc))
    return None


def environment_proxies() -> bool:
    """True when the environment names an HTTP(S) proxy, as httpx reads it (``HTTP_PROXY``, ...).

    httpx looks them up with :func:`urllib.request.getproxies` and applies ``NO_PROXY`` itself; a
    client given its own transport ignores them all, so one that must honour them keeps httpx's.
    """
    proxies = urllib.request.getproxies()
    return any(proxies.get(scheme) for scheme in ("http", "https", "all"))


class LargeReadStream(httpcore.NetworkStream):
    """A network stream whose reads ask for at least ``read_bytes``; everything else is ``stream``'s."""

    def __init__(self, stream: httpcore.NetworkStream, read_bytes: int = READ_BYTES) -> None:
        self._stream = stream
        self._read_bytes = read_bytes

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max(max_bytes, self._read_bytes), timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, timeout)

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        tls = self._stream.start_tls(ssl_context, server_hostname, timeout)
        return LargeReadStream(tls, self._read_bytes)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class LargeReadBackend(httpcore.NetworkBackend):
    """httpcore's synchronous backend (or ``backend``) with every stream a :class:`LargeReadStream`."""

    def __init__(self, read_bytes: int = READ_BYTES, backend: httpcore.NetworkBackend | None = None) -> None:
        self._backend = backend if backend is not None else httpcore.SyncBackend()
        self._read_bytes = read_bytes

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(host, port, timeout, local_address, socket_options)
        return LargeReadStream(stream, self._read_bytes)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_unix_socket(path, timeout, socket_options)
        return LargeReadStream(stream, self._read_bytes)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class _ResponseStream(httpx.SyncByteStream):
    """An httpcore response body as httpx expects it, with httpcore's errors raised as httpx's."""

    def __init__(self, blocks: Iterable[bytes]) -> None:
        self._blocks = blocks

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._blocks
        except Exception as exc:
            mapped = _as_httpx_error(exc)
            if mapped is None:
                raise
            raise mapped from exc

    def close(self) -> None:
        close = getattr(self._blocks, "close", None)
        if close is not None:
            close()


class LargeReadTransport(httpx.BaseTransport):
    """An HTTP/1.1 transport like ``httpx.HTTPTransport()`` whose connections read 1 MiB at a time.

    Parameters
    ----------
    read_bytes : int, default 1 MiB
        Bytes asked for per ``recv``.
    limits : httpx.Limits
        Pool size and keep-alive; httpx's defaults (100 connections, 20 kept alive for 5 s).
    network_backend : httpcore.NetworkBackend or None
        The backend to wrap; ``None`` for httpcore's synchronous sockets.

    Notes
    -----
    TLS is verified as httpx does by default (certifi, ``SSL_CERT_FILE``/``SSL_CERT_DIR``). No
    proxies and no HTTP/2: the client uses httpx's own transport when the environment names a proxy.
    """

    def __init__(
        self,
        read_bytes: int = READ_BYTES,
        limits: httpx.Limits = DEFAULT_LIMITS,
        network_backend: httpcore.NetworkBackend | None = None,
    ) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=LargeReadBackend(read_bytes, network_backend),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not isinstance(request.stream, httpx.SyncByteStream):
            raise TypeError("LargeReadTransport serves httpx.Client, not httpx.AsyncClient")
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        try:
            core_response = self._pool.handle_request(core_request)
        except Exception as exc:
            mapped = _as_httpx_error(exc)
            if mapped is None:
                raise
            raise mapped from exc
        if not isinstance(core_response.stream, Iterable):
            raise TypeError("httpcore returned an asynchronous body to a synchronous pool")
        return httpx.Response(
            status_code=core_response.status,
            headers=core_response.headers,
            stream=_ResponseStream(core_response.stream),
            extensions=core_response.extensions,
        )

    def close(self) -> None:
        self._pool.close()
