import itertools
import os

import pytest

from filmd_server import BASE_CONFIG, FilmdServer, deep_merge
from postgres_service import PostgresService
from redis_service import RedisService

# FILMD_TEST_DB=postgres (make live-postgres): every server of make_server gets a fresh
# PostgreSQL database of its own through database.url, in one throwaway cluster per session.
ON_POSTGRES = os.environ.get("FILMD_TEST_DB") == "postgres"
_database_names = itertools.count(1)


@pytest.fixture(scope="session")
def postgres():
    """The session's throwaway PostgreSQL cluster (started on first use, removed at the end)."""
    service = PostgresService().start()
    yield service
    service.remove()


@pytest.fixture
def fresh_postgres_url(postgres):
    """fresh_postgres_url() -> the URL of a new empty database, dropped after the test."""
    names: list[str] = []

    def create() -> str:
        names.append(f"filmd_test_{next(_database_names)}")
        return postgres.create_database(names[-1])

    yield create
    for name in names:
        postgres.drop_database(name)



# FILMD_TEST_LIMITER=redis: every server keeps its rate limits in one real redis-server
# (started for the session, flushed before each test), so the rate-limit suites run again
# against the shared store (`make live-redis`).
LIMITER_REDIS = os.environ.get("FILMD_TEST_LIMITER") == "redis"


@pytest.fixture(scope="session")
def redis_service(tmp_path_factory):
    """One redis-server on a free loopback port for the session, stopped by PID at the end."""
    service = RedisService(tmp_path_factory.mktemp("redis")).start()
    yield service
    service.stop()


@pytest.fixture
def limiter_storage(request):
    """The rate_limits.storage every server of the test gets: a flushed Redis, or None (memory)."""
    if not LIMITER_REDIS:
        return None
    service = request.getfixturevalue("redis_service")
    service.flush()
    return service.url


@pytest.fixture
def make_server(tmp_path, request, limiter_storage):
    """make_server(config_overrides={}, env={}, args=[], start=True) -> FilmdServer; stopped after the test."""
    servers: list[FilmdServer] = []

    def factory(config_overrides: dict | None = None, env: dict | None = None,
                args: list[str] | None = None, start: bool = True) -> FilmdServer:
        workdir = tmp_path / f"filmd{len(servers)}"
        workdir.mkdir()
        config = deep_merge(BASE_CONFIG, config_overrides or {})
        if ON_POSTGRES and "url" not in config["database"]:
            config["database"]["url"] = request.getfixturevalue("fresh_postgres_url")()
        if limiter_storage:
            config = deep_merge(config, {"rate_limits": {"storage": limiter_storage}})
        server = FilmdServer(workdir, config, env, args)
        if config["database"].get("url"):
            server.postgres = request.getfixturevalue("postgres")
        servers.append(server)
        return server.start() if start else server

    yield factory
    for server in servers:
        server.stop()


@pytest.fixture
def server(make_server):
    """A running filmd with an empty catalogue, no rate limits, anonymous requests allowed everything."""
    return make_server()


def pytest_runtest_setup(item):
    if LIMITER_REDIS and item.get_closest_marker("memory_limiter"):
        pytest.skip("about the in-process limiter's bounded table, which the Redis mode does not use")


CLIENT_SUITES = {"test_openapi.py", "test_postman.py", "test_console.py", "test_systemd_unit.py"}


def pytest_collection_modifyitems(items):
    """Mark the client-artefact suites, which the ThreadSanitizer pass leaves out; on PostgreSQL,
    skip the tests marked sqlite_only (they look at the SQLite file itself)."""
    for item in items:
        if item.path.name in CLIENT_SUITES:
            item.add_marker(pytest.mark.clients)
        if ON_POSTGRES and item.get_closest_marker("sqlite_only"):
            item.add_marker(pytest.mark.skip(reason="about the SQLite file; FILMD_TEST_DB=postgres"))
