"""The shipped systemd units (deploy/systemd/, and the cluster's template deploy/cluster/filmd@.service)
are valid and hardened.

- `systemd-analyze verify` on filmd.service + filmd.socket prints nothing and exits 0. verify also
  checks that ExecStart=/ExecReload= name executables, so the units are copied into a throw-away
  root (--root) that holds the host's own unit files, a stand-in /usr/local/bin/filmd and /bin/kill;
  the unit files themselves are verified byte for byte as shipped.
- `systemd-analyze security --offline=true` gives an overall exposure level <= 2.0.
- The template unit filmd@.service is verified as an instance (filmd@node1.service), rates <= 2.0
  as well, and carries filmd.service's sandbox line for line, with a per-instance config file.
- The directives the contract asks for (SPEC §5, issue 4) are present, and the malloc tunable
  filmd is measured with (GLIBC_TUNABLES, BENCHMARKS.md item 31).
- MemoryDenyWriteExecute=yes is safe for filmd: the real binary starts and answers under the
  kernel's PR_SET_MDWE (the same W^X rule), when the kernel and the binary are available.

Needs only the systemd-analyze tool, not a running systemd (skipped with the reason if absent).
"""
from __future__ import annotations

import ctypes
import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UNIT_DIR = REPO / "deploy" / "systemd"
SERVICE = UNIT_DIR / "filmd.service"
SOCKET = UNIT_DIR / "filmd.socket"
TEMPLATE = REPO / "deploy" / "cluster" / "filmd@.service"
MAX_EXPOSURE = 2.0

ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed (apt-get install systemd)")


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([ANALYZE, *args], capture_output=True, text=True, timeout=120, cwd=cwd,
                          env={**os.environ, "SYSTEMD_COLORS": "0", "SYSTEMD_PAGER": "", "LC_ALL": "C.UTF-8"})


def _fake_root(tmp_path: Path, service_text: str | None = None) -> tuple[Path, list[Path]]:
    """A root with the host's unit files, stand-in executables and our two units in /etc."""
    root = tmp_path / "root"
    (root / "usr" / "bin").mkdir(parents=True)
    (root / "usr" / "local" / "bin").mkdir(parents=True)
    (root / "usr" / "lib" / "systemd").mkdir(parents=True)
    for link in ("bin", "sbin", "lib"):
        os.symlink(f"usr/{link}", root / link)
    # systemd's own units (sysinit.target, ...), wherever this distribution keeps them.
    for src in (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system")):
        if src.is_dir() and not (root / "usr/lib/systemd/system").exists():
            shutil.copytree(src, root / "usr/lib/systemd/system", symlinks=True)
    stand_in = "#!/bin/sh\nexit 0\n"
    for exe in ("usr/local/bin/filmd", "usr/bin/kill"):
        (root / exe).write_text(stand_in)
        (root / exe).chmod(0o755)
    units = root / "etc" / "systemd" / "system"
    units.mkdir(parents=True)
    (units / "filmd.service").write_text(service_text if service_text is not None else SERVICE.read_text())
    shutil.copyfile(SOCKET, units / "filmd.socket")
    return root, [units / "filmd.service", units / "filmd.socket"]


def _verify(tmp_path: Path, unit: Path, text: str) -> subprocess.CompletedProcess:
    """filmd.service (with `text`) and filmd.socket verified together; or the template (as `text`)
    in the same root, verified as the instance an operator starts (%i resolved)."""
    if unit == SERVICE:
        root, units = _fake_root(tmp_path, text)
        return _run("verify", f"--root={root}", *map(str, units))
    root, _ = _fake_root(tmp_path)
    (root / "etc" / "systemd" / "system" / unit.name).write_text(text)
    return _run("verify", f"--root={root}", unit.name.replace("@", "@node1"))


def _directives(path: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        out.setdefault(key.strip(), []).append(value.strip())
    return out


both_units = pytest.mark.parametrize("unit", [SERVICE, TEMPLATE], ids=lambda unit: unit.name)


@needs_analyze
@both_units
def test_verify_is_clean(tmp_path, unit):
    result = _verify(tmp_path, unit, unit.read_text())
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 0 and output == "", f"systemd-analyze verify:\n{output}"


@needs_analyze
@both_units
def test_verify_would_catch_a_broken_unit(tmp_path, unit):
    """The harness above really checks the file: an unknown key is reported (rc 0, but a warning)."""
    broken = unit.read_text().replace("[Service]\n", "[Service]\nNoSuchDirective=1\n", 1)
    result = _verify(tmp_path, unit, broken)
    assert "NoSuchDirective" in result.stdout + result.stderr


def _exposure(result: subprocess.CompletedProcess) -> float:
    match = re.search(r"Overall exposure level for filmd(?:@\w*)?\.service:\s*([0-9]+(?:\.[0-9]+)?)", result.stdout)
    assert match, f"no 'Overall exposure level' line:\n{result.stdout}\n{result.stderr}"
    return float(match.group(1))


@needs_analyze
@both_units
def test_security_exposure_at_most_2(unit):
    result = _run("security", "--offline=true", str(unit))
    exposure = _exposure(result)
    # The bad (✗) lines, shown when the assertion fails, say what to harden next.
    failing = "\n".join(line for line in result.stdout.splitlines() if line.lstrip().startswith("✗"))
    assert exposure <= MAX_EXPOSURE, f"exposure {exposure} > {MAX_EXPOSURE}:\n{failing}"


@needs_analyze
@both_units
def test_security_threshold_exit_code(unit):
    """The same check as CI would run it: --threshold makes the command fail above the score (0-100)."""
    result = _run("security", "--offline=true", f"--threshold={int(MAX_EXPOSURE * 10)}", str(unit))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr


def test_unit_has_the_contracted_directives():
    d = _directives(SERVICE)

    def one(key: str) -> str:
        assert key in d, f"{key}= missing from filmd.service"
        return d[key][-1]

    assert one("Type") == "notify"
    assert one("NotifyAccess") == "main"
    assert one("ExecStart").startswith("/usr/local/bin/filmd serve --config /etc/filmd/config.json")
    assert one("ExecReload") == "/bin/kill -HUP $MAINPID"
    assert one("WatchdogSec") == "30"
    assert one("Restart") == "on-failure"
    assert "78" in one("RestartPreventExitStatus").split()
    assert one("User") not in ("", "root", "0") or one("DynamicUser") == "yes"
    assert one("StateDirectory") == "filmd"
    assert one("UMask") == "0077"
    assert one("CapabilityBoundingSet") == ""
    assert set(one("RestrictAddressFamilies").split()) == {"AF_INET", "AF_INET6", "AF_UNIX"}
    assert "@system-service" in d["SystemCallFilter"]
    for key, value in {
        "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes", "PrivateDevices": "yes",
        "NoNewPrivileges": "yes", "SystemCallArchitectures": "native", "MemoryDenyWriteExecute": "yes",
        "LockPersonality": "yes", "RestrictNamespaces": "yes", "RestrictRealtime": "yes",
        "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes", "ProtectKernelLogs": "yes",
        "ProtectControlGroups": "yes", "ProtectClock": "yes", "ProtectHostname": "yes",
        "ProtectProc": "invisible", "ProcSubset": "pid",
    }.items():
        assert one(key) == value, f"{key}={one(key)}, want {value}"

    # filmd no longer executes itself to set it (BENCHMARKS.md item 31): the unit does.
    assert "GLIBC_TUNABLES=glibc.malloc.tcache_count=64" in d.get("Environment", []), d.get("Environment")

    s = _directives(SOCKET)
    assert s.get("ListenStream") == ["3000"]
    assert s.get("Accept", ["no"])[-1] == "no"


def _from_sandbox_on(path: Path) -> str:
    text = path.read_text()
    assert "\n# Sandbox\n" in text, f"no '# Sandbox' section in {path.name}"
    return text[text.index("\n# Sandbox\n"):]


def test_template_has_the_single_node_sandbox_and_a_config_per_instance():
    assert _from_sandbox_on(TEMPLATE) == _from_sandbox_on(SERVICE)
    single, template = _directives(SERVICE), _directives(TEMPLATE)
    assert template["ExecStart"] == ["/usr/local/bin/filmd serve --config /etc/filmd/%i.json"]
    for key in ("Type", "NotifyAccess", "ExecReload", "WatchdogSec", "Restart", "RestartPreventExitStatus",
                "KillMode", "User", "UMask", "LimitNOFILE", "Environment"):
        assert template.get(key) == single.get(key), f"{key}= differs from filmd.service"
    assert template["StateDirectory"] == ["filmd/%i"] and template["WorkingDirectory"] == ["/var/lib/filmd/%i"]
    assert template["SyslogIdentifier"] == ["filmd-%i"]


# -- MemoryDenyWriteExecute=yes with the real binary ------------------------------------------

PR_SET_MDWE = 65
PR_MDWE_REFUSE_EXEC_GAIN = 1
FILMD_BIN = os.environ.get("FILMD_BIN", str(REPO / ".build" / "debug" / "filmd"))


def _enable_mdwe() -> None:  # runs in the child between fork and exec; inherited across execve
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
        os._exit(121)


def _mdwe_supported() -> bool:
    probe = subprocess.run(["/bin/true"], preexec_fn=_enable_mdwe)
    return probe.returncode == 0


@pytest.mark.skipif(not os.access(FILMD_BIN, os.X_OK), reason=f"filmd binary not built ({FILMD_BIN})")
def test_filmd_runs_with_memory_deny_write_execute(tmp_path):
    if not _mdwe_supported():
        pytest.skip("kernel without PR_SET_MDWE (Linux < 6.3)")
    config = {
        "server": {"host": "127.0.0.1", "port": 0},
        "database": {"path": str(tmp_path / "films.db"), "seed_csv": None},
        "rate_limits": {"enabled": False},
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    proc = subprocess.Popen([FILMD_BIN, "serve", "--config", str(tmp_path / "config.json")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=tmp_path,
                            preexec_fn=_enable_mdwe,
                            # filmd reads every FILMD_* variable as configuration (FILMD_BIN too)
                            env={k: v for k, v in os.environ.items() if not k.startswith("FILMD_")})
    try:
        port = None
        deadline = time.monotonic() + 30
        lines = []
        assert proc.stdout is not None
        while time.monotonic() < deadline and port is None:
            raw = proc.stdout.readline()
            if not raw:
                break
            lines.append(raw.decode("utf-8", "replace"))
            try:
                record = json.loads(raw)
            except ValueError:
                continue
            if record.get("msg") == "listening":
                port = int(record["server.port"])
        assert port, f"filmd under PR_SET_MDWE did not start (rc={proc.poll()}):\n{''.join(lines)}"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as resp:
            assert resp.status == 200
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
