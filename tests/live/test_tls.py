"""Native TLS (SPEC §6) through libevent's OpenSSL bufferevents, with a throwaway certificate."""
import http.client
import shutil
import ssl
import subprocess

import pytest

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl command not installed")


@pytest.fixture
def certificate(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


def https(server, cert, path="/healthz", context=None):
    context = context or ssl.create_default_context(cafile=str(cert))
    conn = http.client.HTTPSConnection("127.0.0.1", server.port, context=context, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def test_https_with_hsts(make_server, certificate):
    cert, key = certificate
    server = make_server({"tls": {"certificate": str(cert), "private_key": str(key)}})
    status, headers, body = https(server, cert)
    assert status == 200 and body == b'{"status":"ok"}'
    assert headers["Strict-Transport-Security"].startswith("max-age=")
    status, headers, _ = https(server, cert, "/nowhere")
    assert status == 404 and headers["Content-Type"] == "application/problem+json"
    listening = [r for r in server.log_records() if r.get("msg") == "listening"]
    assert listening[0]["url.scheme"] == "https"


def test_old_protocols_and_plain_http_are_refused(make_server, certificate):
    cert, key = certificate
    server = make_server({"tls": {"certificate": str(cert), "private_key": str(key)}})
    def handshake(*flags):
        # SECLEVEL=0 lets the client offer what it can, so a refusal is the server's.
        result = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{server.port}", "-cipher", "DEFAULT@SECLEVEL=0", *flags],
                                input=b"", capture_output=True, timeout=10)
        return b"BEGIN CERTIFICATE" in result.stdout or b"Cipher is" in result.stdout and b"(NONE)" not in result.stdout
    assert handshake("-tls1_2")  # the control: the same client gets in with TLS 1.2
    assert not handshake("-tls1_1")
    assert not handshake("-tls1")
    plain = server.raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", timeout=3)
    assert not plain.startswith(b"HTTP/1.1 200")
    assert https(server, cert)[0] == 200  # still serving


def test_a_bad_key_stops_start_up_naming_it(make_server, certificate, tmp_path):
    cert, _ = certificate
    wrong = tmp_path / "wrong.pem"
    wrong.write_text("not a key")
    server = make_server({"tls": {"certificate": str(cert), "private_key": str(wrong)}}, start=False)
    with pytest.raises(RuntimeError) as failure:
        server.start(timeout=10)
    assert "tls.private_key" in str(failure.value)
    assert str(wrong) not in "".join(server.lines)  # no path in the message


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler for the fault-injection shim")
def test_a_connection_that_cannot_get_tls_is_closed_never_served_in_the_clear(make_server, certificate, tmp_path):
    # The real binary with OpenSSL's SSL_new made to fail (LD_PRELOAD): the connection's TLS
    # bufferevent cannot be made, and a plain-text request on it must get nothing back.
    cert, key = certificate
    source, shim = tmp_path / "no_ssl_new.c", tmp_path / "no_ssl_new.so"
    source.write_text("void *SSL_new(void *context) { (void)context; return 0; }\n")
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(shim), str(source)], check=True)
    server = make_server({"tls": {"certificate": str(cert), "private_key": str(key)}}, env={"LD_PRELOAD": str(shim)})
    plain = server.raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", timeout=3)
    assert b"HTTP/1.1" not in plain and b"ok" not in plain
    assert server.process.poll() is None  # and the server goes on
