"""SPEC §8 / INTERFACE.md configuration: precedence, check-config, errors (exit 78), serve's stdout."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess

import pytest

from filmd_server import FILMD_BIN

EX_CONFIG = 78


def _clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FILMD_")}
    env.update(extra)
    return env


def _run(args, cwd, env=None, timeout=30) -> subprocess.CompletedProcess:
    return subprocess.run([FILMD_BIN, *args], cwd=cwd, env=env if env is not None else _clean_env(),
                          capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)


def _write(path, config: dict):
    path.write_text(json.dumps(config))
    return path


def _effective(proc) -> dict:
    assert proc.returncode == 0, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    config = json.loads(proc.stdout)
    assert isinstance(config, dict)
    return config


def _output(proc) -> str:
    return proc.stdout.decode("utf-8", "replace") + proc.stderr.decode("utf-8", "replace")


# -- check-config and precedence -----------------------------------------------------------------

def test_check_config_prints_every_section_as_json(tmp_path):
    cfg = _write(tmp_path / "c.json", {"server": {"port": 4001}})
    config = _effective(_run(["check-config", "--config", str(cfg)], tmp_path))
    for section in ("server", "database", "limits", "rate_limits", "cors", "auth", "logging"):
        assert isinstance(config.get(section), dict), f"missing section {section}: {config}"


def test_builtin_defaults_without_any_file(tmp_path):
    config = _effective(_run(["check-config"], tmp_path))   # empty cwd: no ./config.json
    assert config["limits"]["max_body_bytes"] == 16384
    assert config["rate_limits"]["max_clients"] == 100000
    assert config["auth"]["anonymous_role"] == "voter"
    assert config["rate_limits"]["ipv6_prefix_length"] == 64


def test_precedence_defaults_file_env_flags(tmp_path):
    cfg = _write(tmp_path / "c.json", {"server": {"port": 4001}, "limits": {"max_body_bytes": 1000}})
    base = ["check-config", "--config", str(cfg)]
    from_file = _effective(_run(base, tmp_path))
    assert from_file["server"]["port"] == 4001
    assert from_file["limits"]["max_body_bytes"] == 1000
    assert from_file["rate_limits"]["max_clients"] == 100000           # untouched default kept

    env = _clean_env(FILMD_SERVER_PORT="4002")
    from_env = _effective(_run(base, tmp_path, env))
    assert from_env["server"]["port"] == 4002
    assert from_env["limits"]["max_body_bytes"] == 1000                # file still applies

    from_flag = _effective(_run([*base, "--port", "4003"], tmp_path, env))
    assert from_flag["server"]["port"] == 4003


def test_flags_host_and_db(tmp_path):
    cfg = _write(tmp_path / "c.json", {"server": {"host": "127.0.0.1"}, "database": {"path": "a.db"}})
    config = _effective(_run(["check-config", "--config", str(cfg), "--host", "127.0.0.2",
                              "--db", str(tmp_path / "b.db")], tmp_path,
                             _clean_env(FILMD_DATABASE_PATH=str(tmp_path / "env.db"))))
    assert config["server"]["host"] == "127.0.0.2"
    assert config["database"]["path"] == str(tmp_path / "b.db")


def test_env_nested_keys(tmp_path):
    cfg = _write(tmp_path / "c.json", {})
    config = _effective(_run(["check-config", "--config", str(cfg)], tmp_path, _clean_env(
        FILMD_LIMITS_MAX_BODY_BYTES="1000", FILMD_DATABASE_PATH="/var/lib/filmd/films.db",
        FILMD_RATE_LIMITS_ENABLED="false")))
    assert config["limits"]["max_body_bytes"] == 1000
    assert config["database"]["path"] == "/var/lib/filmd/films.db"
    assert config["rate_limits"]["enabled"] is False


@pytest.mark.parametrize("value", ["https://a.example,https://b.example", '["https://a.example","https://b.example"]'])
def test_env_lists(tmp_path, value):
    cfg = _write(tmp_path / "c.json", {})
    config = _effective(_run(["check-config", "--config", str(cfg)], tmp_path,
                             _clean_env(FILMD_CORS_ALLOWED_ORIGINS=value)))
    assert config["cors"]["allowed_origins"] == ["https://a.example", "https://b.example"]


def test_env_null_clears_optional_key(tmp_path):
    cfg = _write(tmp_path / "c.json", {"database": {"seed_csv": "data/films.csv"}})
    config = _effective(_run(["check-config", "--config", str(cfg)], tmp_path,
                             _clean_env(FILMD_DATABASE_SEED_CSV="null")))
    assert config["database"]["seed_csv"] is None


def test_filmd_config_env_and_cwd_config(tmp_path):
    named = _write(tmp_path / "named.json", {"server": {"port": 4100}})
    config = _effective(_run(["check-config"], tmp_path, _clean_env(FILMD_CONFIG=str(named))))
    assert config["server"]["port"] == 4100

    cwd = tmp_path / "cwd"
    cwd.mkdir()
    _write(cwd / "config.json", {"server": {"port": 4200}})
    assert _effective(_run(["check-config"], cwd))["server"]["port"] == 4200


# -- configuration errors ------------------------------------------------------------------------

@pytest.mark.parametrize("config,key", [
    ({"server": {"prot": 3000}}, "server.prot"),
    ({"bogus": {"x": 1}}, "bogus"),
    ({"limits": {"max_body_bytes": 1000, "max_bodybytes": 5}}, "limits.max_bodybytes"),
    ({"rate_limits": {"routes": {"GET /": "1 per second"}, "deafult": "1/second"}}, "rate_limits.deafult"),
])
def test_unknown_key_in_file_is_exit_78_naming_it(tmp_path, config, key):
    cfg = _write(tmp_path / "c.json", config)
    proc = _run(["check-config", "--config", str(cfg)], tmp_path)
    assert proc.returncode == EX_CONFIG, proc
    assert key in _output(proc), _output(proc)


def test_unknown_filmd_env_var_is_exit_78(tmp_path):
    cfg = _write(tmp_path / "c.json", {})
    proc = _run(["check-config", "--config", str(cfg)], tmp_path, _clean_env(FILMD_FOO="1"))
    assert proc.returncode == EX_CONFIG, proc
    assert "FILMD_FOO" in _output(proc), _output(proc)


@pytest.mark.parametrize("config,key", [
    ({"limits": {"max_body_bytes": -1}}, "limits.max_body_bytes"),
    ({"limits": {"max_body_bytes": "big"}}, "limits.max_body_bytes"),
    ({"database": {"durability": "sometimes"}}, "database.durability"),
    ({"server": {"port": 70000}}, "server.port"),
    ({"server": {"port": "abc"}}, "server.port"),
    ({"auth": {"anonymous_role": "god"}}, "auth.anonymous_role"),
    ({"logging": {"level": "loud"}}, "logging.level"),
    ({"rate_limits": {"enabled": "yes"}}, "rate_limits.enabled"),
    ({"server": []}, "server"),
])
def test_bad_value_is_exit_78_naming_key(tmp_path, config, key):
    cfg = _write(tmp_path / "c.json", config)
    proc = _run(["check-config", "--config", str(cfg)], tmp_path)
    assert proc.returncode == EX_CONFIG, proc
    assert key in _output(proc), _output(proc)


def test_bad_env_value_is_exit_78(tmp_path):
    cfg = _write(tmp_path / "c.json", {})
    proc = _run(["check-config", "--config", str(cfg)], tmp_path, _clean_env(FILMD_LIMITS_MAX_BODY_BYTES="-5"))
    assert proc.returncode == EX_CONFIG, proc
    out = _output(proc)
    assert "limits.max_body_bytes" in out or "FILMD_LIMITS_MAX_BODY_BYTES" in out, out


def test_bad_flag_value_fails(tmp_path):
    cfg = _write(tmp_path / "c.json", {})
    proc = _run(["check-config", "--config", str(cfg), "--port", "abc"], tmp_path)
    assert proc.returncode in (64, EX_CONFIG), proc


def test_invalid_json_file_is_exit_78(tmp_path):
    cfg = tmp_path / "c.json"
    cfg.write_text('{"server": {"port": 3000,}')
    proc = _run(["check-config", "--config", str(cfg)], tmp_path)
    assert proc.returncode == EX_CONFIG, proc


@pytest.mark.parametrize("text", ['{"server": {"port": 3000,}}', '{"server": {"port": 3000}, }'])
def test_a_trailing_comma_in_the_file_is_exit_78(tmp_path, text):
    # The file is read as strictly as a request body (Foundation's decoder took this).
    cfg = tmp_path / "c.json"
    cfg.write_text(text)
    proc = _run(["check-config", "--config", str(cfg)], tmp_path)
    assert proc.returncode == EX_CONFIG, proc
    assert "not valid JSON" in _output(proc), _output(proc)


def test_a_trailing_comma_in_an_env_value_is_exit_78_naming_the_key(tmp_path):
    cfg = _write(tmp_path / "c.json", {})
    proc = _run(["check-config", "--config", str(cfg)], tmp_path,
                _clean_env(FILMD_CORS_ALLOWED_ORIGINS='["https://a.example",]'))
    assert proc.returncode == EX_CONFIG, proc
    assert "cors.allowed_origins" in _output(proc), _output(proc)


def test_missing_config_file_is_an_error(tmp_path):
    proc = _run(["check-config", "--config", str(tmp_path / "absent.json")], tmp_path)
    assert proc.returncode in (66, EX_CONFIG), proc


def test_serve_with_bad_config_exits_78_with_json_line(tmp_path):
    cfg = _write(tmp_path / "c.json", {"server": {"port": 0}, "database": {"path": str(tmp_path / "x.db"),
                                                                          "durability": "sometimes"}})
    proc = _run(["serve", "--config", str(cfg)], tmp_path)
    assert proc.returncode == EX_CONFIG, proc
    lines = [line for line in proc.stdout.decode().splitlines() if line.strip()]
    assert lines, proc
    records = [json.loads(line) for line in lines]
    assert all(isinstance(r, dict) for r in records)
    assert any("database.durability" in json.dumps(r) for r in records), records


# -- serve ---------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_start_up_error_is_one_json_line_that_keeps_the_path_as_written(tmp_path):
    # The log file's directory does not exist; its name has a quote and a backslash, which the
    # line must carry escaped (once swapped for an apostrophe, and a backslash broke the JSON).
    log = tmp_path / 'no "such" \\dir' / "access.log"
    cfg = _write(tmp_path / "c.json", {"server": {"port": 0}, "database": {"path": str(tmp_path / "x.db")},
                                      "logging": {"file": str(log)}})
    proc = _run(["serve", "--config", str(cfg)], tmp_path)
    assert proc.returncode == 1, proc
    lines = [line for line in proc.stdout.decode().splitlines() if line.strip()]
    assert len(lines) == 1, lines
    record = json.loads(lines[0])
    assert record["level"] == "critical" and record["msg"] == "cannot open the log file", record
    assert str(log) in record["error"], record


def test_serve_port_flag_beats_env_and_file(make_server):
    port = _free_port()
    srv = make_server(env={"FILMD_SERVER_PORT": "1"}, args=["--port", str(port)])
    assert srv.port == port
    assert srv.request("GET", "/healthz").status == 200


def test_serve_env_port_beats_file(make_server):
    port = _free_port()
    srv = make_server(env={"FILMD_SERVER_PORT": str(port)})
    assert srv.port == port
    assert srv.request("GET", "/healthz").status == 200


def test_every_serve_stdout_line_is_json_and_sigterm_exits_0(make_server):
    srv = make_server()
    records = srv.log_records()
    listening = [r for r in records if r.get("msg") == "listening"]
    assert listening and listening[0]["server.port"] == srv.port
    assert listening[0]["server.address"] == "127.0.0.1"
    assert "ts" in listening[0] and "level" in listening[0]

    srv.request("GET", "/films")
    srv.request("GET", "/nope")
    srv.request("POST", "/add_film", body=b"{", headers={"Content-Type": "application/json"})
    srv.raw(b"FOO / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", timeout=2)
    srv.request("GET", "/healthz", headers={"User-Agent": b"evil\x1b[31m\x7f\xc2\x85\xe2\x80\xa8agent"})
    before_stop = len(srv.lines)
    assert srv.stop(signal.SIGTERM) == 0
    records = srv.log_records()          # raises if any line is not JSON
    assert all(isinstance(r, dict) for r in records), records
    assert len(srv.lines) > before_stop, "no shutdown message on stdout"
    assert all(set(r) >= {"ts", "level"} for r in records), [r for r in records if not set(r) >= {"ts", "level"}]


# -- map values replace, bad limits and CORS rules -------------------------------------------------

def test_a_map_in_the_file_replaces_the_builtin_routes(tmp_path):
    builtin = _effective(_run(["check-config"], tmp_path))["rate_limits"]["routes"]
    assert builtin == {"GET /": "1 per second", "POST /add_film": "1 per second"}
    empty = _write(tmp_path / "empty.json", {"rate_limits": {"routes": {}}})
    assert _effective(_run(["check-config", "--config", str(empty)], tmp_path))["rate_limits"]["routes"] == {}
    one = _write(tmp_path / "one.json", {"rate_limits": {"routes": {"GET /films": "5 per minute"}}})
    effective = _effective(_run(["check-config", "--config", str(one)], tmp_path))["rate_limits"]
    assert effective["routes"] == {"GET /films": "5 per minute"}
    assert effective["default"] == "200 per day; 50 per hour"            # the section still merges
    env = _clean_env(FILMD_RATE_LIMITS_ROUTES="{}")
    assert _effective(_run(["check-config", "--config", str(one)], tmp_path, env))["rate_limits"]["routes"] == {}


def test_a_server_with_routes_emptied_limits_no_route(make_server):
    server = make_server({"rate_limits": {"enabled": True, "routes": {}}})
    responses = [server.request("GET", "/", source_address="127.0.0.2") for _ in range(3)]
    assert 429 not in [r.status for r in responses], responses          # the built-in "1 per second" is gone
    policy = responses[-1].header("RateLimit-Policy") or ""
    assert '"hour";q=50' in policy and "second" not in policy, policy   # the defaults still apply


@pytest.mark.parametrize("rule", ["https://*.com.*", "https://a*.example.com", "https://*example.com", "https://example.*"])
def test_a_cors_rule_with_a_misplaced_star_is_exit_78_naming_it(tmp_path, rule):
    cfg = _write(tmp_path / "c.json", {"cors": {"allowed_origins": ["https://*.example.com", rule]}})
    proc = _run(["check-config", "--config", str(cfg)], tmp_path)
    assert proc.returncode == EX_CONFIG, proc
    assert "cors.allowed_origins" in _output(proc) and f'"{rule}"' in _output(proc), _output(proc)


@pytest.mark.parametrize("section", [{"default": "1 per 300 years"}, {"routes": {"GET /": "1 per 300 years"}},
                                     {"auth_failures": "10 per minute; 1 per 1000 years"}])
def test_a_limit_whose_window_overflows_the_clock_is_exit_78_naming_it(tmp_path, section):
    cfg = _write(tmp_path / "c.json", {"server": {"port": 0}, "database": {"path": str(tmp_path / "x.db")},
                                       "rate_limits": section})
    key = "rate_limits." + next(iter(section)) + (".GET /" if "routes" in section else "")
    for command in ("check-config", "serve"):
        proc = _run([command, "--config", str(cfg)], tmp_path)
        assert proc.returncode == EX_CONFIG, (command, proc.returncode, _output(proc)[-2000:])
        assert key in _output(proc) and "years" in _output(proc), _output(proc)


def test_sighup_with_a_limit_that_overflows_the_clock_keeps_the_running_config(make_server):
    server = make_server({"rate_limits": {"enabled": True, "default": "", "routes": {"GET /films": "2 per minute"}}})
    config = json.loads(server.config_path.read_text())
    config["rate_limits"]["routes"]["GET /films"] = "1 per 300 years"
    server.config_path.write_text(json.dumps(config))
    server.process.send_signal(signal.SIGHUP)
    failed = server.wait_for_log(lambda r: r.get("msg", "").startswith("configuration reload failed"))
    assert "1 per 300 years" in failed["error"] and "rate_limits.routes.GET /films" in failed["error"]
    assert server.process.poll() is None
    statuses = [server.request("GET", "/films", source_address="127.0.0.2").status for _ in range(3)]
    assert statuses == [200, 200, 429]                                  # the old limit still counts
