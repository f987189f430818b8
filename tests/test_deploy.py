"""The shipped deployment (`deploy/`): Debian's nginx accepts the site and carries a signed WeChat message over HTTPS
to `unionbot serve` started as the systemd unit starts it; the unit passes `systemd-analyze`; the admin wrapper runs
a command with the service's settings.

The files are used as shipped, with only what ties them to a real server rewritten: ports, certificate and log paths.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bot.channel.signing import Signer, new_msg_id, text_xml
from bot.devtools.fake_wechat import FakeWechatServer
from config.settings import Settings, load_settings
from tests.conftest import AES_KEY, APPID, REPOSITORY, SECRET, TOKEN
from tests.harness import Delivery

DEPLOY = REPOSITORY / "deploy"
SITE = DEPLOY / "nginx" / "unionbot.conf"
UNIT = DEPLOY / "unionbot.service"
WRAPPER = DEPLOY / "unionbot"
ENV_EXAMPLE = DEPLOY / "env.example"
GUIDE = REPOSITORY / "docs" / "deploy.md"
NGINX = "/usr/sbin/nginx"
INSTALLED = "/opt/unionbot/.venv/bin/unionbot"
UNIONBOT = Path(sys.executable).parent / "unionbot"  # the console script of the environment running the tests
# Loopback addresses other than 127.0.0.1 reach nginx as another machine would: what the site lets the outside see.
OUTSIDE = "127.0.0.2"
# Longer than uvicorn's own 5 s health check: a worker as slow to start as one on a loaded 2-core server.
SLOW_WORKER_START_SECONDS = 7

needs_nginx = pytest.mark.skipif(
    not os.access(NGINX, os.X_OK), reason="Debian's nginx is not installed (.ci/run installs it)"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def eventually(condition: Callable[[], bool], timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def replaced(text: str, changes: dict[str, str]) -> str:
    """`text` with every change made; each original must be there, so a reshaped file fails here, not later."""
    for old, new in changes.items():
        assert old in text, f"{old!r} is no longer in the shipped file"
        text = text.replace(old, new)
    return text


# --- the unit ------------------------------------------------------------------------------------------------------


def unit_values(key: str) -> list[str]:
    return [line.split("=", 1)[1] for line in UNIT.read_text().splitlines() if line.startswith(f"{key}=")]


def unit_command(port: int, workers: int | None = None) -> list[str]:
    """The unit's ExecStart with the installed script replaced by ours, the port by a free one, and the workers by
    `workers` when given."""
    [line] = unit_values("ExecStart")
    command = shlex.split(line)
    assert command[0] == INSTALLED and command[1] == "serve"
    command[0] = str(UNIONBOT)
    command[command.index("--port") + 1] = str(port)
    if workers is not None:
        command[command.index("--workers") + 1] = str(workers)
    return command


def unit_environment(cache: Path) -> dict[str, str]:
    """The unit's `Environment=` assignments, its cache directory moved to `cache`."""
    found: dict[str, str] = {}
    for line in unit_values("Environment"):
        for assignment in shlex.split(line):
            name, value = assignment.split("=", 1)
            found[name] = value.replace("/var/cache/unionbot", str(cache))
    return found


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_the_unit_passes_systemd_analyze_and_keeps_the_service_confined(tmp_path: Path) -> None:
    unit = tmp_path / "unionbot.service"
    unit.write_text(replaced(UNIT.read_text(), {INSTALLED: str(UNIONBOT)}))
    verified = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    # An unknown or misspelt key is only a warning on stderr, with exit code 0.
    assert (verified.returncode, verified.stderr) == (0, ""), verified.stderr
    security = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    exposure = re.search(r"Overall exposure level for unionbot.service: ([\d.]+)", security.stdout)
    assert exposure, security.stdout + security.stderr
    assert float(exposure.group(1)) <= 2.0, security.stdout


# --- nginx ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ports:
    upstream: int
    http: int
    https: int


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (the client does not verify it; nginx only needs one to load)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(datetime(2000, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2100, 1, 1, tzinfo=UTC))
        .sign(key, hashes.SHA256())
    )
    cert, private = folder / "cert.pem", folder / "key.pem"
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    private.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert, private


def nginx_config(folder: Path, ports: Ports) -> Path:
    """An nginx.conf under `folder` that includes the shipped site, rewritten to loopback, free ports and `folder`."""
    cert, key = self_signed(folder)
    site = folder / "unionbot.conf"
    site.write_text(
        replaced(
            SITE.read_text(),
            {
                "    listen [::]:80;\n": "",
                "    listen [::]:443 ssl http2;\n": "",
                "listen 80;": f"listen 127.0.0.1:{ports.http};",
                "listen 443 ssl": f"listen 127.0.0.1:{ports.https} ssl",
                "server 127.0.0.1:8000;": f"server 127.0.0.1:{ports.upstream};",
                "/etc/letsencrypt/live/bot.example.cn/fullchain.pem": str(cert),
                "/etc/letsencrypt/live/bot.example.cn/privkey.pem": str(key),
                "/var/www/html": str(folder / "acme"),
                "/var/log/nginx/": f"{folder}/",
            },
        )
    )
    # As root, nginx's workers would run as `nobody`, who cannot enter pytest's folders.
    user = "user root;\n" if os.geteuid() == 0 else ""
    temporary = " ".join(f"{kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi"))
    temporary += f" uwsgi_temp_path {folder / 'uwsgi'}; scgi_temp_path {folder / 'scgi'};"
    conf = folder / "nginx.conf"
    conf.write_text(
        f"{user}worker_processes 1;\npid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'};\n"
        f"events {{ worker_connections 64; }}\nhttp {{\n    {temporary}\n    include {site};\n}}\n"
    )
    return conf


def nginx_command(conf: Path, *arguments: str) -> list[str]:
    folder = conf.parent
    return [NGINX, "-p", str(folder), "-e", str(folder / "error.log"), "-c", str(conf), *arguments]


@needs_nginx
def test_nginx_accepts_the_shipped_site(tmp_path: Path) -> None:
    conf = nginx_config(tmp_path, Ports(free_port(), free_port(), free_port()))
    checked = subprocess.run(nginx_command(conf, "-t"), capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stderr
    assert "test is successful" in checked.stderr and "[warn]" not in checked.stderr, checked.stderr


def accepting(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[Ports]:
    if not os.access(NGINX, os.X_OK):
        pytest.skip("Debian's nginx is not installed (.ci/run installs it)")
    folder = tmp_path / "nginx"
    folder.mkdir()
    ports = Ports(free_port(), free_port(), free_port())
    server = subprocess.Popen(
        nginx_command(nginx_config(folder, ports), "-g", "daemon off;"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        listening = eventually(lambda: accepting(ports.https) or server.poll() is not None, timeout=20)
        assert listening and server.poll() is None, (folder / "error.log").read_text()
        yield ports
    finally:
        server.terminate()
        server.wait(timeout=20)


# --- the service behind it -----------------------------------------------------------------------------------------


def slow_worker_start(folder: Path) -> Path:
    """A `sitecustomize` that holds every uvicorn worker (a spawned process) before it can answer its supervisor."""
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(
        f"import sys, time\nif '--multiprocessing-fork' in sys.argv:\n    time.sleep({SLOW_WORKER_START_SECONDS})\n"
    )
    return folder


@dataclass
class Service:
    log: Path
    workers: int

    def lines(self, needle: str) -> int:
        return self.log.read_text(errors="replace").count(needle)


@pytest.fixture
def service(nginx: Ports, database_url: str, fake: FakeWechatServer, tmp_path: Path) -> Iterator[Service]:
    """`unionbot serve` as the unit runs it: two workers on PostgreSQL, each slow to start; one on SQLite (which
    serves one process)."""
    on_postgres = database_url.startswith("postgresql")
    env = {
        **{name: value for name, value in os.environ.items() if not name.startswith("UNIONBOT_")},
        **unit_environment(tmp_path / "cache"),
        "PYTHONPATH": str(slow_worker_start(tmp_path / "slow")),
        "UNIONBOT_DATABASE_URL": database_url,
        "UNIONBOT_WECHAT_TOKEN": TOKEN,
        "UNIONBOT_WECHAT_APPID": APPID,
        "UNIONBOT_WECHAT_SECRET": SECRET,
        "UNIONBOT_WECHAT_API_BASE": fake.url,
        "UNIONBOT_WECHAT_QR_BASE": fake.url,
        "UNIONBOT_FILES_DIR": str(tmp_path / "files"),
        "UNIONBOT_PUBLIC_BASE_URL": f"https://127.0.0.1:{nginx.https}",
    }
    command = unit_command(nginx.upstream, workers=None if on_postgres else 1)
    log = tmp_path / "service.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=REPOSITORY,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    running = Service(log, workers=int(command[command.index("--workers") + 1]))
    try:
        started = eventually(
            lambda: running.lines("Application startup complete.") >= running.workers or process.poll() is not None,
            timeout=120,
        )
        assert started and process.poll() is None, f"the service did not start:\n{log.read_text()}"
        yield running
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_wechat_and_the_desk_are_served_over_https_and_the_service_pages_stay_inside(
    service: Service, nginx: Ports
) -> None:
    # Every worker came up though each took longer than uvicorn's own health check allows, and one leads.
    assert service.lines("died") == 0, service.log.read_text()
    if service.workers > 1:
        assert eventually(lambda: service.lines("this process is now the leader") > 0), service.log.read_text()
        assert service.lines("this process is now the leader") == 1, service.log.read_text()
    base = f"https://127.0.0.1:{nginx.https}"
    with (
        httpx.Client(base_url=base, verify=False, timeout=30) as here,
        httpx.Client(
            base_url=base, transport=httpx.HTTPTransport(verify=False, local_address=OUTSIDE), timeout=30
        ) as outside,
    ):
        # WeChat's servers post a signed message over HTTPS and get the reply.
        params, body = Signer(TOKEN, APPID).sign(text_xml("deploy-newcomer", "你好", new_msg_id()))
        answered = outside.post("/wechat", params=params, content=body)
        assert answered.status_code == 200, answered.text
        assert "发送“绑定 邀请码”" in (Delivery(200, answered.text, answered.text).content or "")
        assert answered.headers["strict-transport-security"].startswith("max-age=")

        # Staff reach the desk; anything else is not there.
        assert "登录工作台" in outside.get("/desk/signin").text
        assert outside.get("/docs").status_code == 404

        # The service names the real client in its log: it believes nginx's X-Forwarded-For.
        forged = outside.post("/wechat", params={**params, "signature": "0" * 40}, content=body)
        assert forged.status_code == 403 and "signature does not match" in forged.text
        assert f"rejected POST /wechat from {OUTSIDE}" in service.log.read_text()

        # nginx caps a body before the service sees it; the service caps a smaller one itself.
        too_big = outside.post("/wechat", params=params, content=b"x" * 200_000)
        assert too_big.status_code == 413 and "nginx" in too_big.text
        over_service = outside.post("/wechat", params=params, content=b"x" * 100_000)
        assert over_service.status_code == 413 and "is over 65536" in over_service.text

        # /metrics and /healthz answer this machine only.
        for path in ("/metrics", "/healthz"):
            refused = outside.get(path)
            assert refused.status_code == 403 and "nginx" in refused.text, path
        assert here.get("/healthz").json() == {"status": "ok", "database": "ok"}
        assert here.get("/metrics").status_code != 403

    redirected = httpx.get(f"http://127.0.0.1:{nginx.http}/wechat?echostr=1", follow_redirects=False)
    assert redirected.status_code == 301
    assert redirected.headers["location"] == "https://bot.example.cn/wechat?echostr=1"


# --- the settings file ---------------------------------------------------------------------------------------------


def example_settings() -> dict[str, tuple[str, bool]]:
    """Each `UNIONBOT_…=value` line of env.example: its value, and whether it is set or left commented out."""
    found: dict[str, tuple[str, bool]] = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        matched = re.fullmatch(r"(# )?(UNIONBOT_[A-Z_]+)=(.*)", line)
        if matched:
            found[matched[2]] = (matched[3], matched[1] is None)
    return found


@pytest.fixture
def no_settings_from_outside(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in os.environ:
        if name.startswith("UNIONBOT_"):
            monkeypatch.delenv(name)


@pytest.mark.usefixtures("no_settings_from_outside")
def test_the_settings_file_and_the_guide_name_every_setting_with_its_real_default() -> None:
    every = {f"UNIONBOT_{field.upper()}" for field in Settings.model_fields}
    listed = example_settings()
    assert sorted(every - set(listed)) == [], "deploy/env.example lacks these"
    assert sorted(set(listed) - every) == [], "deploy/env.example names settings that do not exist"
    guide = GUIDE.read_text()
    assert sorted(name for name in every if name not in guide) == [], "docs/deploy.md lacks these"
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    for name, (value, is_set) in listed.items():
        field = name.removeprefix("UNIONBOT_").lower()
        if not is_set and getattr(defaults, field) is not None:  # an unset one is shown with an example
            given = Settings(_env_file=None, **{field: value})  # type: ignore[call-arg]
            assert getattr(given, field) == getattr(defaults, field), f"{name}={value} is not its default"


@pytest.mark.usefixtures("no_settings_from_outside")
def test_the_settings_file_with_its_placeholders_filled_in_starts_in_production(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    own = {
        "UNIONBOT_WECHAT_SECRET": "an-appsecret-of-our-own",
        "UNIONBOT_WECHAT_TOKEN": "0123456789abcdef0123456789abcdef",
        "UNIONBOT_WECHAT_AES_KEY": AES_KEY,
        "UNIONBOT_DATA_KEY": Fernet.generate_key().decode(),
        "UNIONBOT_LINK_SECRET": "0123456789abcdef" * 4,
    }
    for name, (value, is_set) in example_settings().items():
        if is_set:
            monkeypatch.setenv(name, own[name] if value.startswith("replace-with") else value)
    monkeypatch.chdir(REPOSITORY / "deploy")  # no .env file of a developer's on the way
    settings = load_settings()
    assert settings.env == "production" and settings.development_secrets() == []
    assert settings.database_url.startswith("postgresql+psycopg://unionbot@/unionbot")


# --- the admin wrapper ---------------------------------------------------------------------------------------------


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("runuser"), reason="runuser needs root")
def test_the_admin_wrapper_runs_a_command_with_the_service_settings(tmp_path: Path) -> None:
    database = tmp_path / "wrapped.sqlite3"
    settings = tmp_path / "env"
    settings.write_text(f"UNIONBOT_DATABASE_URL=sqlite:///{database}\nUNIONBOT_TIMEZONE=Asia/Shanghai\n")
    wrapper = tmp_path / "unionbot"
    wrapper.write_text(
        replaced(
            WRAPPER.read_text(),
            {
                "/etc/unionbot/env": str(settings),
                "cd /opt/unionbot": f"cd {REPOSITORY}",
                INSTALLED: str(UNIONBOT),
                "-u unionbot": "-u root",
            },
        )
    )
    env = {name: value for name, value in os.environ.items() if not name.startswith("UNIONBOT_")}
    upgraded = subprocess.run(["sh", str(wrapper), "db", "upgrade"], env=env, capture_output=True, text=True)
    assert upgraded.returncode == 0, upgraded.stderr
    assert database.stat().st_size > 0
