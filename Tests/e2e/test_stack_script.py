"""scripts/stack.sh itself: each test runs its own stack (a fresh STATE_DIR under /tmp, a free
port, the built binaries in ATR_BIN) next to the suite's stack, and looks at the real
processes through /proc.

A process belongs to a test's stack when
- atr-fcgi/atr-scheduler: argv[0] is the binary in the test's BIN_DIR and its environment has
  the test's ATR_INSTANCE_SETTINGS (the suite's stack runs the same binaries);
- nginx: the master's title names the test's prefix (`-p STATE/nginx`); workers are its
  children, recorded while the master lives (nginx gives them a cleared environment).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from fhir_support import require_env

PROGRAMS = ("atr-fcgi", "atr-scheduler")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def read_proc(pid: int, name: str) -> bytes | None:
    try:
        return Path(f"/proc/{pid}/{name}").read_bytes()
    except OSError:
        return None


def running(pid: int) -> bool:
    """Exists and is not a zombie."""
    stat = read_proc(pid, "stat")
    return stat is not None and stat.rsplit(b") ", 1)[1][:1] != b"Z"


def all_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def children(pid: int) -> list[int]:
    found = []
    for child in all_pids():
        stat = read_proc(child, "stat")
        if stat is not None and int(stat.rsplit(b") ", 1)[1].split()[1]) == pid:
            found.append(child)
    return found


@dataclass
class Stack:
    state: Path
    port: int
    bin_dir: str
    settings: Path
    root: str
    env: dict = field(default_factory=dict)

    def run(self, command: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([os.path.join(self.root, "scripts", "stack.sh"), command],
                              env=self.env, capture_output=True, text=True, timeout=timeout)

    @property
    def base(self) -> str:
        return f"https://localhost:{self.port}/fhir"

    def program_pids(self, program: str) -> list[int]:
        binary = os.path.realpath(os.path.join(self.bin_dir, program))
        marker = f"ATR_INSTANCE_SETTINGS={self.settings}".encode()
        found = []
        for pid in all_pids():
            cmdline, environ = read_proc(pid, "cmdline"), read_proc(pid, "environ")
            if not (cmdline and environ and marker in environ.split(b"\0") and running(pid)):
                continue
            try:
                started_as = os.path.join(os.readlink(f"/proc/{pid}/cwd"), os.fsdecode(cmdline.split(b"\0")[0]))
            except OSError:
                continue
            if os.path.realpath(started_as) == binary:
                found.append(pid)
        return found

    def nginx_masters(self) -> list[int]:
        prefix = f" -p {self.state}/nginx ".encode()
        found = []
        for pid in all_pids():
            cmdline = read_proc(pid, "cmdline") or b""
            if cmdline.startswith(b"nginx: master process") and prefix in cmdline.replace(b"\0", b" ") + b" ":
                if running(pid):
                    found.append(pid)
        return found

    def nginx_processes(self) -> list[int]:
        masters = self.nginx_masters()
        return masters + [child for master in masters for child in children(master)]

    def processes(self) -> dict[str, list[int]]:
        return {"nginx": self.nginx_processes(),
                **{program: self.program_pids(program) for program in PROGRAMS}}

    def pid_files(self) -> list[str]:
        run = self.state / "run"
        return sorted(path.name for path in run.glob("*.pid")) if run.is_dir() else []


def make_stack(bin_dir: str) -> Stack:
    state = Path(tempfile.mkdtemp(prefix="atr-stack-", dir="/tmp"))  # a short unix socket path
    port = free_port()
    settings = state / "appsettings.instance.json"
    settings.write_text(json.dumps({
        "PublicBaseUrl": f"https://localhost:{port}/fhir",
        "Database": {"Path": f"{state}/db/atr.sqlite"},
        "FastCGI": {"Socket": f"{state}/run/atr-fcgi.sock", "Threads": 2},
        "BulkDataExport": {"RepeatPeriod": 300},
        "TaskFileManagement": {"StorageService": {"StoragePath": f"{state}/tasks"}},
        "SignedUrls": {"SecretFile": f"{state}/secrets/url-signing.key"},
        "SmartAuthorizationOptions": {"SigningKeyFile": f"{state}/secrets/token-signing-key.pem"},
    }))
    root = os.path.abspath(require_env("ATR_ROOT"))
    env = dict(os.environ, STATE_DIR=str(state), BIN_DIR=bin_dir, ATR_INSTANCE_SETTINGS=str(settings))
    return Stack(state=state, port=port, bin_dir=bin_dir, settings=settings, root=root, env=env)


def end_leftovers(stack: Stack) -> None:
    """After a failed test: whatever of the test's stack still runs, by pid, so nothing leaks
    into the rest of the suite."""
    pids = [pid for group in stack.processes().values() for pid in group]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            if running(pid):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 3
        while any(running(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.1)


@pytest.fixture
def stack():
    made = make_stack(os.path.abspath(require_env("ATR_BIN")))
    yield made
    made.run("stop")
    end_leftovers(made)
    shutil.rmtree(made.state, ignore_errors=True)


def start_ok(stack: Stack) -> dict[str, list[int]]:
    result = stack.run("start")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == f"stack up at {stack.base} (state in {stack.state})"
    processes = stack.processes()
    assert len(processes["atr-fcgi"]) == 1 and len(processes["atr-scheduler"]) == 1, processes
    assert len(stack.nginx_masters()) == 1 and len(processes["nginx"]) >= 2, processes
    return processes


def connection_refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return False
    except ConnectionRefusedError:
        return True


def test_start_brings_the_stack_up_and_stop_ends_every_process(stack):
    processes = start_ok(stack)
    for name, pids in (("atr-fcgi", processes["atr-fcgi"]), ("atr-scheduler", processes["atr-scheduler"]),
                       ("nginx", stack.nginx_masters())):
        assert (stack.state / "run" / f"{name}.pid").read_text().strip() == str(pids[0])
    response = requests.get(f"{stack.base}/metadata", verify=str(stack.state / "tls" / "ca.pem"), timeout=30)
    assert response.status_code == 200
    assert response.json()["resourceType"] == "CapabilityStatement"

    result = stack.run("stop")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == "stopped nginx\nstopped atr-scheduler\nstopped atr-fcgi\n"
    assert result.stderr == ""
    everything = [pid for pids in processes.values() for pid in pids]
    assert [pid for pid in everything if running(pid)] == []
    assert stack.pid_files() == []
    assert connection_refused(stack.port)

    again = stack.run("stop")
    assert (again.returncode, again.stdout, again.stderr) == (0, "", "")


def test_stop_waits_until_nginx_has_exited_even_with_a_request_open(stack):
    """A client in the middle of sending its request headers keeps a gracefully quitting nginx
    worker alive for client_header_timeout (60 s); stop must not report nginx stopped (and drop
    its pid file) while it still runs."""
    processes = start_ok(stack)
    nginx = processes["nginx"]
    context = ssl.create_default_context(cafile=str(stack.state / "tls" / "ca.pem"))
    with context.wrap_socket(socket.create_connection(("127.0.0.1", stack.port), timeout=30),
                             server_hostname="localhost") as held:
        held.sendall(b"GET /fhir/metadata HTTP/1.1\r\nHost: localhost\r\n")
        time.sleep(0.3)
        started = time.monotonic()
        result = stack.run("stop")
        elapsed = time.monotonic() - started
        still = [pid for pid in nginx if running(pid)]
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout == "stopped nginx\nstopped atr-scheduler\nstopped atr-fcgi\n"
        assert still == [], f"stop said {result.stdout!r} after {elapsed:.1f} s, but nginx {still} still runs"
        assert stack.pid_files() == []
        # nginx ended the held request when it exited.
        held.settimeout(5)
        assert held.recv(1024) == b""
    assert stack.processes() == {"nginx": [], "atr-fcgi": [], "atr-scheduler": []}


def start_foreign_nginx(directory: Path) -> int:
    """A real nginx master with another prefix, as another stack on this machine would run."""
    directory.mkdir()
    (directory / "nginx.conf").write_text(f"""
pid {directory}/nginx.pid;
error_log {directory}/error.log;
events {{}}
http {{
    access_log off;
    client_body_temp_path {directory}/client_body;
    proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fastcgi;
    uwsgi_temp_path {directory}/uwsgi;
    scgi_temp_path {directory}/scgi;
    server {{ listen 127.0.0.1:{free_port()}; return 204; }}
}}
""")
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    subprocess.run([nginx, "-p", str(directory), "-c", f"{directory}/nginx.conf"], check=True,
                   capture_output=True, timeout=30)
    deadline = time.monotonic() + 5
    while not (directory / "nginx.pid").is_file() and time.monotonic() < deadline:
        time.sleep(0.05)
    return int((directory / "nginx.pid").read_text())


def test_stop_leaves_the_processes_of_stale_pid_files_alone(stack, tmp_path):
    """Pid files left by a crashed stack whose pids now belong to other processes: an unrelated
    program, another stack's nginx, and the same atr-scheduler binary run with other settings."""
    other = make_stack(stack.bin_dir)
    (other.state / "db").mkdir()
    for command in (["secrets", "init"], ["migrate"]):
        subprocess.run([os.path.join(stack.bin_dir, "atrctl"), *command], env=other.env,
                       check=True, capture_output=True, timeout=60)
    sleeper = subprocess.Popen(["sleep", "300"])
    # The very path stack.sh starts it with, so only the settings tell the two apart.
    scheduler = subprocess.Popen([os.path.join(os.path.realpath(stack.bin_dir), "atr-scheduler")], env=other.env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    foreign_nginx = None
    try:
        foreign_nginx = start_foreign_nginx(tmp_path / "foreign")
        foreign_workers = children(foreign_nginx)
        time.sleep(0.5)
        assert sleeper.poll() is None and scheduler.poll() is None and running(foreign_nginx)
        run = stack.state / "run"
        run.mkdir()
        (run / "nginx.pid").write_text(f"{foreign_nginx}\n")
        (run / "atr-scheduler.pid").write_text(f"{scheduler.pid}\n")
        (run / "atr-fcgi.pid").write_text(f"{sleeper.pid}\n")

        result = stack.run("stop")
        time.sleep(0.3)
        assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
        assert sleeper.poll() is None, "stop killed an unrelated process named in atr-fcgi.pid"
        assert scheduler.poll() is None, "stop killed another stack's atr-scheduler"
        assert running(foreign_nginx) and all(running(pid) for pid in foreign_workers), \
            "stop signalled another prefix's nginx"
        assert stack.pid_files() == []
    finally:
        for process in (sleeper, scheduler):
            process.terminate()
            process.wait(timeout=10)
        if foreign_nginx is not None and running(foreign_nginx):
            os.kill(foreign_nginx, signal.SIGTERM)
            deadline = time.monotonic() + 5
            while running(foreign_nginx) and time.monotonic() < deadline:
                time.sleep(0.05)
        shutil.rmtree(other.state, ignore_errors=True)


def test_start_fails_when_atr_scheduler_does_not_run(stack, tmp_path):
    """An install without the scheduler binary: atr-fcgi and nginx come up, the scheduler
    never does. start must say so, show its log, and leave nothing running."""
    incomplete = tmp_path / "bin"
    incomplete.mkdir()
    for program in ("atr-fcgi", "atrctl"):
        (incomplete / program).symlink_to(os.path.join(stack.bin_dir, program))
    stack.bin_dir = str(incomplete)
    stack.env["BIN_DIR"] = str(incomplete)

    result = stack.run("start")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "stack up" not in result.stdout
    assert "atr-scheduler did not start" in result.stderr
    assert f"setsid: failed to execute {incomplete}/atr-scheduler: No such file or directory" in result.stderr
    assert stack.processes() == {"nginx": [], "atr-fcgi": [], "atr-scheduler": []}
    assert stack.pid_files() == []


def test_start_fails_when_nginx_cannot_listen(stack):
    """The port is taken by someone else: nginx cannot bind, start says so with nginx's error
    log and stops the atr-fcgi and atr-scheduler it had started; the other listener is untouched."""
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", stack.port))
        squatter.listen()
        result = stack.run("start")
        assert result.returncode == 1, result.stdout + result.stderr
        assert "stack up" not in result.stdout
        assert "nginx did not start" in result.stderr
        assert f"bind() to 127.0.0.1:{stack.port} failed (98: Address already in use)" in result.stderr
        assert f"--- last lines of {stack.state}/log/nginx-error.log:" in result.stderr
        assert stack.processes() == {"nginx": [], "atr-fcgi": [], "atr-scheduler": []}
        assert stack.pid_files() == []
        with socket.create_connection(("127.0.0.1", stack.port), timeout=5):
            pass
