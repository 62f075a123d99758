"""The client's large-read transport: same bytes, large reads, kept connections, errors, fallback.

References are independent of httpx: artifact bodies are read off a plain socket, reads are
recorded by wrapping httpcore's synchronous backend (the one :class:`LargeReadBackend` wraps).
"""

from __future__ import annotations

import datetime
import gzip
import hashlib
import io
import json
import socket
import ssl
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx
import numpy as np
import pytest

from juniper_data_service.client import JuniperDataClient, JuniperDataConnectionError, JuniperDataTimeoutError
from juniper_data_service.client.transport import READ_BYTES, LargeReadTransport, environment_proxies

HTTPCORE_READ_BYTES = 64 * 1024  # what httpcore asks for on its own
# 198,000 rows: the largest spiral the service still generates on NumPy (no Numba compilation in
# tests); its NPZ is about 6.3 MB and its Arrow stream about 4 MB, several 1 MiB reads each.
LARGE_SPIRAL = {"n_spirals": 2, "n_points_per_spiral": 99_000, "noise": 0.1, "seed": 11}
TINY_SPIRAL = {"n_spirals": 2, "n_points_per_spiral": 5, "noise": 0.1, "seed": 11}
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


# ---- references ---------------------------------------------------------------------------------


def _dechunk(body: bytes) -> bytes:
    out, pos = bytearray(), 0
    while True:
        end = body.index(b"\r\n", pos)
        size = int(body[pos:end].split(b";")[0], 16)
        if size == 0:
            return bytes(out)
        out += body[end + 2 : end + 2 + size]
        pos = end + 2 + size + 2


def socket_body(url: str, path: str) -> bytes:
    """The body the server sends for ``GET path``, read off a plain socket (HTTP/1.0: it closes after)."""
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    with socket.create_connection((parts.hostname, parts.port), timeout=60) as sock:
        sock.sendall(f"GET {path} HTTP/1.0\r\nHost: {parts.netloc}\r\n\r\n".encode())
        data = bytearray()
        while block := sock.recv(1 << 16):
            data += block
    head, _, body = bytes(data).partition(b"\r\n\r\n")
    assert head.split(b" ", 2)[1] == b"200", head[:300]
    return _dechunk(body) if b"transfer-encoding: chunked" in head.lower() else body


@dataclass
class Recorded:
    """What the wrapped httpcore backend saw: connections made, and each read's asked/returned sizes."""

    connections: int = 0
    reads: list[tuple[int, int]] = field(default_factory=list)
    tls_reads: list[tuple[int, int]] = field(default_factory=list)


class _RecordingStream(httpcore.NetworkStream):
    def __init__(
        self, stream: httpcore.NetworkStream, reads: list[tuple[int, int]], record: Recorded
    ) -> None:
        self._stream, self._reads, self._record = stream, reads, record

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data = self._stream.read(max_bytes, timeout)
        self._reads.append((max_bytes, len(data)))
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, timeout)

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        tls = self._stream.start_tls(ssl_context, server_hostname, timeout)
        return _RecordingStream(tls, self._record.tls_reads, self._record)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> Recorded:
    """Record what clients built from now on read: LargeReadBackend wraps ``httpcore.SyncBackend()``."""
    record = Recorded()

    class RecordingBackend(httpcore.SyncBackend):
        def connect_tcp(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
            record.connections += 1
            return _RecordingStream(super().connect_tcp(*args, **kwargs), record.reads, record)

    monkeypatch.setattr(httpcore, "SyncBackend", RecordingBackend)
    return record


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture
def client(service: Any, no_key_env: None, no_proxy_env: None) -> Iterator[JuniperDataClient]:
    with JuniperDataClient(service.url, timeout=60, retries=0) as c:
        yield c


@pytest.fixture(scope="module")
def large_ids(service: Any) -> dict[str, str]:
    """A persisted (cached after its first download) and a streamed (``persist=false``) large spiral."""
    with httpx.Client(base_url=service.url, timeout=120) as c:
        ids = {}
        for source, persist in (("cached", True), ("streamed", False)):
            body = {"generator": "spiral", "params": LARGE_SPIRAL, "persist": persist}
            ids[source] = c.post("/v1/datasets", json=body).raise_for_status().json()["dataset_id"]
        return ids


# ---- the bytes ----------------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["cached", "streamed"])
def test_large_npz_download_is_byte_identical(
    client: JuniperDataClient, service: Any, large_ids: dict[str, str], source: str
) -> None:
    dataset_id = large_ids[source]
    expected = socket_body(service.url, f"/v1/datasets/{dataset_id}/artifact")
    got = client.download_artifact_bytes(dataset_id)
    assert len(got) > 6 * READ_BYTES
    assert got == expected
    if source == "cached":
        assert hashlib.sha256(got).hexdigest() == client.get_dataset_metadata(dataset_id)["checksum"]


def test_tiny_npz_download_is_byte_identical(client: JuniperDataClient, service: Any) -> None:
    dataset_id = client.create_dataset("spiral", TINY_SPIRAL)["dataset_id"]
    got = client.download_artifact_bytes(dataset_id)
    assert 0 < len(got) < HTTPCORE_READ_BYTES
    assert got == socket_body(service.url, f"/v1/datasets/{dataset_id}/artifact")
    assert client.download_artifact_npz(dataset_id)["X_full"].shape == (10, 2)


@pytest.mark.parametrize("source", ["cached", "streamed"])
def test_large_arrow_download_is_byte_identical(
    client: JuniperDataClient, service: Any, large_ids: dict[str, str], source: str
) -> None:
    pa = pytest.importorskip("pyarrow")
    dataset_id = large_ids[source]
    path = f"/v1/datasets/{dataset_id}/artifact?format=arrow"
    expected = socket_body(service.url, path)
    with client.session.stream("GET", path) as response:  # the client's own pool and transport
        got = b"".join(response.iter_raw())
    assert len(got) > 3 * READ_BYTES
    assert got == expected
    table = client.download_arrow(dataset_id)
    assert table.num_rows == 198_000
    assert table.equals(pa.ipc.open_stream(expected).read_all())
    with client.download_arrow(dataset_id, stream=True) as batches:
        assert pa.Table.from_batches(list(batches)).equals(table)


def test_tiny_arrow_download_is_byte_identical(client: JuniperDataClient, service: Any) -> None:
    pa = pytest.importorskip("pyarrow")
    dataset_id = client.create_dataset("spiral", TINY_SPIRAL)["dataset_id"]
    path = f"/v1/datasets/{dataset_id}/artifact?format=arrow"
    expected = socket_body(service.url, path)
    with client.session.stream("GET", path) as response:
        assert b"".join(response.iter_raw()) == expected
    assert client.download_arrow(dataset_id).equals(pa.ipc.open_stream(expected).read_all())


def test_download_rows_and_batch_export_read_whole_bodies(
    client: JuniperDataClient, large_ids: dict[str, str]
) -> None:
    dataset_id = large_ids["cached"]
    arrays = client.download_artifact_npz(dataset_id)
    X, y = client.download_rows(dataset_id, split="train", offset=1000, limit=100_000)
    np.testing.assert_array_equal(X, arrays["X_train"][1000:101_000])
    np.testing.assert_array_equal(y, arrays["y_train"][1000:101_000])
    with zipfile.ZipFile(io.BytesIO(client.batch_export([dataset_id]))) as archive:
        assert archive.read(f"{dataset_id}.npz") == client.download_artifact_bytes(dataset_id)


# ---- large reads and kept connections -----------------------------------------------------------


def test_downloads_ask_for_large_reads(
    service: Any, large_ids: dict[str, str], recorded: Recorded, no_key_env: None, no_proxy_env: None
) -> None:
    with JuniperDataClient(service.url, timeout=60, retries=0) as client:
        body = client.download_artifact_bytes(large_ids["cached"])
    asked = {size for size, _ in recorded.reads}
    assert asked == {READ_BYTES}
    assert sum(got for _, got in recorded.reads) > len(body)  # the body plus the head
    # Reads return what the socket holds; with a 6 MB body queued, some return more than 64 KiB.
    assert max(got for _, got in recorded.reads) > HTTPCORE_READ_BYTES


def test_one_connection_serves_many_requests(
    service: Any, large_ids: dict[str, str], recorded: Recorded, no_key_env: None, no_proxy_env: None
) -> None:
    pytest.importorskip("pyarrow")
    with JuniperDataClient(service.url, timeout=60, retries=0) as client:
        dataset_id = large_ids["cached"]
        assert client.health_check()["status"] == "ok"
        first = client.download_artifact_bytes(dataset_id)
        assert client.get_dataset_metadata(dataset_id)["n_samples"] == 198_000
        assert client.download_arrow(dataset_id).num_rows == 198_000
        assert client.download_artifact_bytes(dataset_id) == first
        X, _ = client.download_rows(dataset_id, split="test", limit=10)
        assert X.shape == (10, 2)
    assert recorded.connections == 1


# ---- errors -------------------------------------------------------------------------------------


class HalfBodyServer:
    """Answers every request with a 200 whose ``Content-Length`` promises 1 MB, sends 1 KB, then
    stalls (``stall=True``) or closes the connection."""

    def __init__(self, stall: bool) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._stall, self._done = stall, threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        conn, _ = self._listener.accept()
        with conn:
            request = b""
            while b"\r\n\r\n" not in request:
                request += conn.recv(4096)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 1000)
            if self._stall:
                self._done.wait(10)

    def close(self) -> None:
        self._done.set()
        self._thread.join(10)
        self._listener.close()


@pytest.mark.parametrize("stall", [True, False], ids=["stall", "cut"])
def test_a_broken_body_raises_the_clients_errors(stall: bool, no_key_env: None, no_proxy_env: None) -> None:
    server = HalfBodyServer(stall)
    try:
        with JuniperDataClient(server.url, timeout=0.5, retries=0) as client:
            expected = JuniperDataTimeoutError if stall else JuniperDataConnectionError
            with pytest.raises(expected):
                client.download_artifact_bytes("spiral-2.0.0-0000000000000000")
    finally:
        server.close()


@pytest.mark.parametrize(
    "core_error",
    [
        httpcore.ConnectTimeout,
        httpcore.ReadTimeout,
        httpcore.WriteTimeout,
        httpcore.PoolTimeout,
        httpcore.ConnectError,
        httpcore.ReadError,
        httpcore.WriteError,
        httpcore.ProxyError,
        httpcore.UnsupportedProtocol,
        httpcore.LocalProtocolError,
        httpcore.RemoteProtocolError,
    ],
)
def test_httpcore_errors_become_httpxs(core_error: type[Exception]) -> None:
    class FailingBackend(httpcore.NetworkBackend):
        def connect_tcp(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
            raise core_error("boom")

    transport = LargeReadTransport(network_backend=FailingBackend())
    with httpx.Client(transport=transport) as session, pytest.raises(httpx.TransportError) as info:
        session.get("http://127.0.0.1:1/")
    assert type(info.value) is getattr(httpx, core_error.__name__)
    assert str(info.value) == "boom"
    assert isinstance(info.value.__cause__, core_error)


# ---- TLS ----------------------------------------------------------------------------------------


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    pytest.importorskip("cryptography")
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def test_https_reads_large_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, recorded: Recorded, no_key_env: None, no_proxy_env: None
) -> None:
    cert_path, key_path = _self_signed(tmp_path)
    payload = json.dumps({"status": "ok", "version": "tls", "pad": "x" * 300_000}).encode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_path))  # httpx's default verification reads it
    try:
        with JuniperDataClient(f"https://127.0.0.1:{server.server_address[1]}", timeout=10) as client:
            assert client.health_check()["version"] == "tls"
    finally:
        server.shutdown()
        server.server_close()
    assert recorded.tls_reads  # the HTTP exchange went over the TLS stream start_tls returned
    assert {size for size, _ in recorded.tls_reads} == {READ_BYTES}


# ---- content encoding ---------------------------------------------------------------------------


def test_a_content_encoded_body_is_decoded(stub: Any, no_key_env: None, no_proxy_env: None) -> None:
    pa = pytest.importorskip("pyarrow")
    table = pa.table({"label": pa.array(np.arange(1000, dtype=np.int32))})
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    arrow_body = sink.getvalue()
    npz_body = b"PK-not-really-an-npz" * 1000
    stub.script(
        "GET",
        "/v1/datasets/d/artifact",
        {"body": gzip.compress(npz_body), "headers": {"Content-Encoding": "gzip"}},
    )
    with JuniperDataClient(stub.url, retries=0) as client:
        assert client.download_artifact_bytes("d") == npz_body
        stub.script(
            "GET",
            "/v1/datasets/d/artifact",
            {"body": gzip.compress(arrow_body), "headers": {"Content-Encoding": "gzip"}},
        )
        assert client.download_arrow("d").equals(table)


# ---- the fallback: proxies from the environment -------------------------------------------------


def test_environment_proxies(monkeypatch: pytest.MonkeyPatch, no_proxy_env: None) -> None:
    monkeypatch.delenv("REQUEST_METHOD", raising=False)  # under CGI, HTTP_PROXY is ignored
    assert environment_proxies() is False
    monkeypatch.setenv("no_proxy", "localhost")
    assert environment_proxies() is False
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy:3128")
    assert environment_proxies() is True


def test_a_proxy_in_the_environment_is_honoured(
    service: Any,
    stub: Any,
    recorded: Recorded,
    monkeypatch: pytest.MonkeyPatch,
    no_key_env: None,
    no_proxy_env: None,
) -> None:
    monkeypatch.delenv("REQUEST_METHOD", raising=False)
    monkeypatch.setenv("http_proxy", stub.url)
    target = f"{service.url}/v1/health"
    stub.script("GET", target, {"body": {"status": "ok", "version": "via-proxy"}})
    with JuniperDataClient(service.url, retries=0) as client:
        assert client.health_check() == {"status": "ok", "version": "via-proxy"}
    assert stub.count("GET", target) == 1  # the proxy got the absolute-form request
    assert recorded.connections == 0  # httpx's own transport, not the large-read one
