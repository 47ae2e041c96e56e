import pytest

from filmd_server import BASE_CONFIG, FilmdServer, deep_merge


@pytest.fixture
def make_server(tmp_path):
    """make_server(config_overrides={}, env={}, args=[], start=True) -> FilmdServer; stopped after the test."""
    servers: list[FilmdServer] = []

    def factory(config_overrides: dict | None = None, env: dict | None = None,
                args: list[str] | None = None, start: bool = True) -> FilmdServer:
        workdir = tmp_path / f"filmd{len(servers)}"
        workdir.mkdir()
        server = FilmdServer(workdir, deep_merge(BASE_CONFIG, config_overrides or {}), env, args)
        servers.append(server)
        return server.start() if start else server

    yield factory
    for server in servers:
        server.stop()


@pytest.fixture
def server(make_server):
    """A running filmd with an empty catalogue, no rate limits, anonymous requests allowed everything."""
    return make_server()


CLIENT_SUITES = {"test_openapi.py", "test_postman.py", "test_console.py", "test_systemd_unit.py"}


def pytest_collection_modifyitems(items):
    """Mark the client-artefact suites, which the ThreadSanitizer pass leaves out."""
    for item in items:
        if item.path.name in CLIENT_SUITES:
            item.add_marker(pytest.mark.clients)
