"""The production deployment files: deploy/systemd units and the deploy/nginx site.

These tests need no running stack, only the repository (ATR_ROOT), the built binaries
(ATR_BIN) and the tools: `systemd-analyze verify` checks the units, `systemd-sysusers` and
`systemd-tmpfiles` (in a throwaway --root) check the user and directory files, and `nginx -t`
checks the production site — rendered by `atrctl nginx-config --site production` from
deploy/nginx/atr-export.site.template with deploy/appsettings.production.json, as an operator
renders it — wrapped in a minimal nginx.conf. A missing tool fails its test:
`scripts/install-deps.sh --test` (run by scripts/e2e.sh) installs them.

Facts checked on Debian 12 (systemd 252, nginx 1.22.1), also in a container without systemd
as PID 1:
- `systemd-analyze verify` reports a misspelt key (`Unknown key 'ProtectSytem' in section
  [Service], ignoring.`) only as a warning: the exit code stays 0, and with
  SYSTEMD_LOG_LEVEL=err the line disappears. So the log level is left alone and the output
  is searched for lines about our units; a non-executable ExecStart makes the exit code 1.
- verify does not check that User=/SocketGroup= exist, and needs no running systemd.
- `nginx -t` parses the config, loads the certificates and binds every listen address (so
  the test moves them to free loopback ports), but does not connect to the FastCGI socket.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from fhir_support import require_env

UNITS = [
    "atr-fcgi.socket",
    "atr-fcgi.service",
    "atr-scheduler.service",
    "atr-scheduler-once.service",
    "atr-scheduler.timer",
]
SYSUSERS = "atr-export.sysusers.conf"
SITE_TEMPLATE = "deploy/nginx/atr-export.site.template"
PRODUCTION_SETTINGS = "deploy/appsettings.production.json"
TMPFILES = "atr-export.tmpfiles.conf"
PRODUCTION_BIN = "/usr/local/bin/"

# A line of verify output that names one of our units and says something is wrong.
PROBLEM_WORDS = re.compile(r"unknown|error|fail|ignor|invalid|not executable|deprecated|obsolete",
                           re.IGNORECASE)


# The Debian package that brings each tool; scripts/install-deps.sh --test installs them.
TOOL_PACKAGES = {
    "systemd-analyze": "systemd",
    "systemd-sysusers": "systemd",
    "systemd-tmpfiles": "systemd",
    "nginx": "nginx",
    "openssl": "openssl",
}


def find_tool(name: str) -> str:
    """PATH first, then the sbin directories a non-root PATH often lacks (nginx is in /usr/sbin)."""
    found = shutil.which(name)
    if found:
        return found
    for directory in ("/usr/sbin", "/sbin", "/usr/bin", "/bin"):
        candidate = os.path.join(directory, name)
        if os.access(candidate, os.X_OK):
            return candidate
    pytest.fail(f"{name} is not installed (Debian package {TOOL_PACKAGES[name]}; "
                "scripts/install-deps.sh --test installs it)", pytrace=False)


def as_root() -> list[str]:
    """systemd-tmpfiles can chown to atr-export/www-data only as root: the command prefix
    that runs a tool as root, sudo when not root already."""
    if os.geteuid() == 0:
        return []
    if shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0:
        return ["sudo", "-n"]
    pytest.fail("checking atr-export.tmpfiles.conf needs root: run the tests as root or with "
                "password-less sudo", pytrace=False)


@pytest.fixture(scope="module")
def systemd_dir(repo_root) -> Path:
    directory = Path(repo_root) / "deploy" / "systemd"
    missing = [name for name in UNITS + [SYSUSERS, TMPFILES] if not (directory / name).is_file()]
    assert not missing, f"missing in {directory}: {missing}"
    return directory


@pytest.fixture(scope="module")
def systemd_analyze() -> str:
    return find_tool("systemd-analyze")


def production_env(tmp_path: Path) -> dict:
    """atrctl's environment on a production host: the production settings file (the units'
    ATR_CONFIG), no dev overlay. The signed-URL secret lives under /var/lib/atr-export there;
    here it is a throwaway file."""
    secret = tmp_path / "url-signing.key"
    if not secret.exists():
        secret.write_text("test-secret-0123456789\n")
    env = {key: value for key, value in os.environ.items() if key != "ATR_INSTANCE_SETTINGS"}
    env["ATR_CONFIG"] = PRODUCTION_SETTINGS
    env["ATR_SignedUrls__SecretFile"] = str(secret)
    return env


def atrctl_render(repo_root: str, env: dict, output: Path, *arguments: str) -> str:
    atrctl = os.path.join(os.path.abspath(require_env("ATR_BIN")), "atrctl")
    result = subprocess.run([atrctl, "nginx-config", *arguments, "--output", str(output)],
                            cwd=repo_root, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"atrctl nginx-config {' '.join(arguments)}:\n{result.stdout}{result.stderr}"
    return output.read_text()


def render_production_site(repo_root: str, tmp_path: Path, *extra: str) -> str:
    return atrctl_render(repo_root, production_env(tmp_path), tmp_path / "atr-export.site.conf",
                         "--site", "production", "--template", SITE_TEMPLATE, *extra)


def copy_units_for_test(systemd_dir: Path, target: Path) -> list[Path]:
    """Copies the units into target with ExecStart pointing at the built binaries in ATR_BIN
    (the production paths /usr/local/bin/atr-* do not exist here, and verify checks them)."""
    bin_dir = os.path.abspath(require_env("ATR_BIN"))
    copies = []
    for name in UNITS:
        lines = []
        for line in (systemd_dir / name).read_text().splitlines(keepends=True):
            if line.startswith("ExecStart="):
                command = line[len("ExecStart="):].strip().split()
                assert command[0].startswith(PRODUCTION_BIN), f"{name}: unexpected {line.strip()}"
                binary = os.path.join(bin_dir, command[0][len(PRODUCTION_BIN):])
                assert os.access(binary, os.X_OK), f"{name}: {binary} is not an executable file"
                line = "ExecStart=" + " ".join([binary] + command[1:]) + "\n"
            lines.append(line)
        copy = target / name
        copy.write_text("".join(lines))
        copies.append(copy)
    return copies


def verify(systemd_analyze: str, units: list[Path]) -> tuple[int, list[str]]:
    """Runs `systemd-analyze verify` on the unit files; returns (exit code, output lines)."""
    env = dict(os.environ)
    # Keep warnings: unknown keys are reported at warning level only (see the module docstring).
    env.pop("SYSTEMD_LOG_LEVEL", None)
    env["SYSTEMD_PAGER"] = "cat"
    result = subprocess.run(
        [systemd_analyze, "verify", "--man=no"] + [str(unit) for unit in units],
        capture_output=True, text=True, env=env, timeout=120,
    )
    return result.returncode, (result.stdout + result.stderr).splitlines()


def problems_with_our_units(lines: list[str]) -> list[str]:
    return [line for line in lines
            if any(name in line for name in UNITS) and PROBLEM_WORDS.search(line)]


def test_systemd_units_verify(systemd_dir, systemd_analyze, tmp_path):
    units = copy_units_for_test(systemd_dir, tmp_path)
    code, lines = verify(systemd_analyze, units)
    output = "\n".join(lines)
    assert code == 0, f"systemd-analyze verify exited {code}:\n{output}"
    assert not problems_with_our_units(lines), f"systemd-analyze verify complained:\n{output}"


def test_systemd_verify_catches_a_misspelt_key(systemd_dir, systemd_analyze, tmp_path):
    """The check above can fail: the same verify run reports a typo in a copy of the units."""
    units = copy_units_for_test(systemd_dir, tmp_path)
    service = tmp_path / "atr-fcgi.service"
    text = service.read_text()
    assert "\nProtectSystem=strict\n" in text
    service.write_text(text.replace("\nProtectSystem=strict\n", "\nProtectSytem=strict\n"))
    code, lines = verify(systemd_analyze, units)
    found = problems_with_our_units(lines)
    assert any("ProtectSytem" in line and "atr-fcgi.service" in line for line in found), (
        f"verify did not report the misspelt key (exit {code}):\n" + "\n".join(lines))


def test_systemd_units_agree_with_each_other_and_nginx(systemd_dir, repo_root, tmp_path):
    """The socket path the production site uses is the one systemd listens on; the scheduler
    timer runs the --once service; the fcgi service gets the socket on fd 0 (no --socket)."""
    socket_unit = (systemd_dir / "atr-fcgi.socket").read_text()
    listen = re.search(r"^ListenStream=(\S+)$", socket_unit, re.MULTILINE).group(1)
    site = render_production_site(repo_root, tmp_path)
    passes = re.findall(r"fastcgi_pass\s+unix:([^;\s]+);", site)
    assert passes and all(path == listen for path in passes), (listen, passes)
    assert re.search(r"^Accept=no$", socket_unit, re.MULTILINE)

    fcgi = (systemd_dir / "atr-fcgi.service").read_text()
    assert re.search(r"^ExecStart=/usr/local/bin/atr-fcgi$", fcgi, re.MULTILINE)
    assert re.search(r"^StandardInput=socket$", fcgi, re.MULTILINE)
    assert re.search(r"^Requires=atr-fcgi\.socket$", fcgi, re.MULTILINE)

    timer = (systemd_dir / "atr-scheduler.timer").read_text()
    assert re.search(r"^Unit=atr-scheduler-once\.service$", timer, re.MULTILINE)
    once = (systemd_dir / "atr-scheduler-once.service").read_text()
    assert re.search(r"^ExecStart=/usr/local/bin/atr-scheduler --once$", once, re.MULTILINE)
    assert re.search(r"^Type=oneshot$", once, re.MULTILINE)

    # Exit 78 (configuration or schema, e.g. `atrctl migrate` not run) must not loop on restarts.
    for unit in ("atr-fcgi.service", "atr-scheduler.service"):
        assert re.search(r"^RestartPreventExitStatus=78$", (systemd_dir / unit).read_text(), re.MULTILINE), unit


def test_sysusers_and_tmpfiles_create_the_directories(systemd_dir, tmp_path):
    """systemd-sysusers and systemd-tmpfiles, run against a throwaway --root, accept the files
    and create the directories with the owners and modes nginx needs."""
    sysusers, tmpfiles = find_tool("systemd-sysusers"), find_tool("systemd-tmpfiles")
    sudo = as_root()
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    for name in ("passwd", "group"):
        shutil.copy(f"/etc/{name}", root / "etc" / name)
    group_lines = (root / "etc" / "group").read_text().splitlines()
    assert any(line.startswith("www-data:") for line in group_lines), (
        "no www-data group in /etc/group: Debian's base-passwd package defines it "
        "(`update-passwd` restores it); nginx runs as www-data and the tmpfiles rules name it")

    result = subprocess.run(sudo + [sysusers, f"--root={root}", str(systemd_dir / SYSUSERS)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    passwd = {line.split(":")[0]: line.split(":") for line in (root / "etc/passwd").read_text().splitlines()}
    groups = {line.split(":")[0]: line.split(":") for line in (root / "etc/group").read_text().splitlines()}
    assert "atr-export" in passwd, result.stdout + result.stderr
    assert passwd["atr-export"][5] == "/var/lib/atr-export"
    uid, gid, www_gid = int(passwd["atr-export"][2]), int(groups["atr-export"][2]), int(groups["www-data"][2])

    result = subprocess.run(sudo + [tmpfiles, f"--root={root}", "--create", str(systemd_dir / TMPFILES)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    expected = {
        "run/atr-export": (0o750, uid, www_gid),
        "var/lib/atr-export": (0o711, uid, gid),
        "var/lib/atr-export/tasks": (0o2750, uid, www_gid),
    }
    for path, (mode, owner, group) in expected.items():
        info = (root / path).stat()
        assert (info.st_mode & 0o7777, info.st_uid, info.st_gid) == (mode, owner, group), path

    # The state directory mode in the services must equal the tmpfiles one, or systemd and
    # systemd-tmpfiles would keep changing it back and forth.
    for name in ("atr-fcgi.service", "atr-scheduler.service", "atr-scheduler-once.service"):
        text = (systemd_dir / name).read_text()
        assert re.search(r"^StateDirectory=atr-export$", text, re.MULTILINE), name
        assert re.search(r"^StateDirectoryMode=0711$", text, re.MULTILINE), name


def free_port(family: int, host: str) -> int:
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def ipv6_loopback_works() -> bool:
    try:
        free_port(socket.AF_INET6, "::1")
        return True
    except OSError:
        return False


def rewrite_listen_addresses(site: str) -> str:
    """`nginx -t` binds every listen address (as a non-root user, port 80 fails with
    "bind() ... (13: Permission denied)"; as root it fails when 80/443 are taken). Each distinct
    address becomes a free loopback port of the same family, so servers sharing an address
    still share one; the listen parameters (ssl, http2, ...) stay as they are."""
    ipv6 = ipv6_loopback_works()
    mapping: dict[str, str] = {}

    def replace(match: re.Match) -> str:
        address = match.group(2)
        if address not in mapping:
            if address.startswith("[") and ipv6:
                mapping[address] = f"[::1]:{free_port(socket.AF_INET6, '::1')}"
            else:
                mapping[address] = f"127.0.0.1:{free_port(socket.AF_INET, '127.0.0.1')}"
        return f"{match.group(1)}{mapping[address]}"

    site, count = re.subn(r"(?m)^(\s*listen\s+)(\S+?)(?=[\s;])", replace, site)
    assert count >= 1, "no listen directives to rewrite"
    return site


def test_nginx_site_config_passes_nginx_t(repo_root, tmp_path):
    nginx = find_tool("nginx")
    openssl = find_tool("openssl")
    nginx_dir = Path(repo_root) / "deploy" / "nginx"

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", "/CN=atr.example.org",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )

    # The operator's commands (README, Deployment): the site with the host's certificate, and
    # the secret snippet next to the other snippets.
    site = render_production_site(repo_root, tmp_path, "--set", f"ssl_certificate={cert}",
                                  "--set", f"ssl_certificate_key={key}")
    for line in ("server_name atr.example.org;", "listen 80;", "listen [::]:80;",
                 "return 301 https://atr.example.org$request_uri;",
                 "listen 443 ssl http2;", "listen [::]:443 ssl http2;",
                 f"ssl_certificate {cert};", f"ssl_certificate_key {key};",
                 "client_max_body_size 104857600;",
                 'add_header Strict-Transport-Security "max-age=63072000" always;',
                 "include /etc/atr-export/nginx/security-headers.conf;",
                 "include /etc/atr-export/nginx/secure-link-secret.conf;",
                 "location /fhir/ {", "location = /fhir {",
                 "fastcgi_pass unix:/run/atr-export/atr-fcgi.sock;",
                 "auth_request /_auth/files;", "alias /var/lib/atr-export/tasks/;"):
        assert re.search(rf"(?m)^\s*{re.escape(line)}$", site), f"not in the rendered site: {line}\n{site}"
    assert "{{" not in site and "test-secret" not in site, site

    snippets = tmp_path / "snippets"
    shutil.copytree(nginx_dir, snippets)
    secret_conf = atrctl_render(repo_root, production_env(tmp_path), snippets / "secure-link-secret.conf",
                                "--template", str(nginx_dir / "secure-link-secret.conf.template"))
    assert 'set $atr_link_secret "test-secret-0123456789";' in secret_conf, secret_conf
    site = site.replace("/etc/atr-export/nginx/", f"{snippets}/")
    site = rewrite_listen_addresses(site)
    # Every other absolute file path must be one nginx -t can read, i.e. not /etc/... any more;
    # the FastCGI socket path stays as it is (nginx -t does not connect).
    leftover = [line for line in site.splitlines()
                if "/etc/" in line.split("#", 1)[0]]
    assert not leftover, leftover
    (tmp_path / "atr-export.conf").write_text(site)

    temp = tmp_path / "tmp"
    temp.mkdir()
    (tmp_path / "nginx.conf").write_text(f"""
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log;
events {{}}
http {{
    access_log off;
    client_body_temp_path {temp}/client_body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {tmp_path}/atr-export.conf;
}}
""")
    result = subprocess.run(
        [nginx, "-t", "-p", f"{tmp_path}/", "-e", f"{tmp_path}/error.log",
         "-c", f"{tmp_path}/nginx.conf"],
        capture_output=True, text=True, timeout=60,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"nginx -t failed:\n{output}"
    assert "test is successful" in output, output


def test_dev_and_production_sites_are_the_same_template(repo_root, tmp_path):
    """The suite's own stack runs on the dev rendering (scripts/stack.sh); its locations and
    their directives are the production site's, only paths and listen addresses differ."""
    production = render_production_site(repo_root, tmp_path)
    dev = (Path(require_env("ATR_STATE_DIR")) / "nginx" / "nginx.conf").read_text()

    def locations(text: str) -> list[str]:
        body = text[text.index("location "):text.rindex("Not found; the FHIR base is")]
        return [line.strip() for line in body.splitlines()
                if line.strip() and not line.strip().startswith("#")
                and not re.match(r"\s*(include|fastcgi_pass|alias)\s", line)]

    assert locations(dev) == locations(production)
    assert "listen 127.0.0.1:" in dev and "listen [::]" not in dev and "listen 80;" not in dev
