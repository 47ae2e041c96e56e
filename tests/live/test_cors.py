"""CORS and response headers (SPEC §3) against the real binary."""
import pytest

CORS = {"cors": {"allowed_origins": ["https://app.example.com", "https://*.example.org", "http://localhost:8080"],
                 "max_age_seconds": 123}}
EXPOSED = "Retry-After, RateLimit, RateLimit-Policy, X-Request-ID, WWW-Authenticate, Location"
SECURITY = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Cross-Origin-Resource-Policy": "same-origin",
}


@pytest.fixture
def cserver(make_server):
    server = make_server(CORS)
    created = server.request("POST", "/films", json_body={"name": "Up", "studio": "Pixar"})
    assert created.status == 201
    return server


@pytest.mark.parametrize("origin", ["https://app.example.com", "https://APP.example.com:443",
                                    "https://api.example.org", "https://a.b.example.org", "http://localhost:8080"])
def test_allowed_origin_gets_cors_headers(cserver, origin):
    response = cserver.request("GET", "/films/1", headers={"Origin": origin})
    assert response.status == 200
    assert response.header("Access-Control-Allow-Origin") is not None
    assert response.header("Access-Control-Allow-Origin").lower() == origin.lower().replace(":443", "")
    assert "Origin" in response.header("Vary")
    assert response.header("Access-Control-Expose-Headers") == EXPOSED
    assert response.header("Access-Control-Allow-Credentials") is None


@pytest.mark.parametrize("origin", ["https://evil-example.com", "https://app.example.com.evil.net", "null",
                                    "http://app.example.com", "https://app.example.com:8443", "https://example.org",
                                    "https://evil-example.org", "https://example.org.evil.net", "http://api.example.org",
                                    "https://app.example.com/", "javascript:alert(1)"])
def test_attack_origins_never_get_cors_headers(cserver, origin):
    for method, path in [("GET", "/films/1"), ("GET", "/nowhere"), ("DELETE", "/films")]:
        response = cserver.request(method, path, headers={"Origin": origin})
        assert not any(k.lower().startswith("access-control-") for k, _ in response.header_list), (origin, response.header_list)
    preflight = cserver.request("OPTIONS", "/films", headers={"Origin": origin, "Access-Control-Request-Method": "POST"})
    assert preflight.status == 403
    assert not any(k.lower().startswith("access-control-") for k, _ in preflight.header_list)
    assert preflight.header("Content-Type") == "application/problem+json"


def test_errors_carry_cors_headers(cserver):
    for method, path, status in [("GET", "/films/999", 404), ("GET", "/nowhere", 404), ("DELETE", "/films", 405),
                                 ("POST", "/films", 415)]:
        response = cserver.request(method, path, headers={"Origin": "https://app.example.com"})
        assert response.status == status
        assert response.header("Access-Control-Allow-Origin") == "https://app.example.com"


def test_preflight_checks_route_methods_and_headers(cserver):
    ok = cserver.request("OPTIONS", "/films/1", headers={
        "Origin": "https://app.example.com", "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "content-type, x-api-key"})
    assert ok.status == 204
    assert ok.header("Access-Control-Allow-Origin") == "https://app.example.com"
    assert set(ok.header("Access-Control-Allow-Methods").split(", ")) >= {"GET", "PATCH", "DELETE"}
    assert "X-API-Key" in ok.header("Access-Control-Allow-Headers")
    assert ok.header("Access-Control-Max-Age") == "123"
    assert ok.body == b""
    # A method the route does not have, a header not allowed, an unknown path: refused.
    for path, method, headers in [("/films/1", "POST", None), ("/films/1", "GET", "X-Evil"), ("/nowhere", "GET", None)]:
        request_headers = {"Origin": "https://app.example.com", "Access-Control-Request-Method": method}
        if headers:
            request_headers["Access-Control-Request-Headers"] = headers
        refused = cserver.request("OPTIONS", path, headers=request_headers)
        assert refused.status == 403, (path, method)
        assert refused.header("Access-Control-Allow-Origin") is None


def test_deny_by_default(make_server):
    server = make_server()
    response = server.request("GET", "/healthz", headers={"Origin": "https://app.example.com"})
    assert response.header("Access-Control-Allow-Origin") is None
    assert server.request("OPTIONS", "/films", headers={"Origin": "https://app.example.com",
                                                        "Access-Control-Request-Method": "GET"}).status == 403


def test_wildcard_without_credentials(make_server):
    server = make_server({"cors": {"allowed_origins": ["*"]}})
    response = server.request("GET", "/healthz", headers={"Origin": "https://anywhere.example"})
    assert response.header("Access-Control-Allow-Origin") == "*"


def test_vary_is_appended_not_overwritten(cserver):
    response = cserver.request("GET", "/films/1", headers={"Origin": "https://app.example.com"})
    assert len(response.headers_all("Vary")) >= 1
    assert "Origin" in ", ".join(response.headers_all("Vary"))


@pytest.mark.parametrize("method,path", [("GET", "/"), ("GET", "/nowhere"), ("POST", "/films"), ("DELETE", "/"),
                                         ("GET", "/healthz"), ("HEAD", "/films"), ("OPTIONS", "/films")])
def test_security_headers_on_every_response(cserver, method, path):
    response = cserver.request(method, path)
    for name, value in SECURITY.items():
        assert response.header(name) == value, (name, response.header_list)
    assert response.header("Strict-Transport-Security") is None  # plain HTTP
    assert response.header("Server") is None  # no version banner
    assert response.header("X-Request-ID")


def test_console_has_its_own_strict_policy(cserver):
    response = cserver.request("GET", "/console")
    csp = response.header("Content-Security-Policy")
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert len(response.headers_all("Content-Security-Policy")) == 1


def test_corp_is_configurable(make_server):
    server = make_server({"headers": {"cross_origin_resource_policy": "cross-origin"}})
    assert server.request("GET", "/healthz").header("Cross-Origin-Resource-Policy") == "cross-origin"
