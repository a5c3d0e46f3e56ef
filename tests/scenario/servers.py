"""Real servers from Debian packages, started by tests on loopback ports of their own.

Each starter returns a running `subprocess.Popen` once its port accepts, or skips the
test with the reason when the server is not installed. Everything binds 127.0.0.1 only,
lives in a temporary directory and is stopped by the pid it was started with. Given `log`,
a server writes its log (its stderr) to that file, for a test to read afterwards.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from portside.net.addresses import Target
from portside.probing.wait import wait_for


def find(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    found = found or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if found is None:
        pytest.skip(f"{name} is not installed (Debian package; .ci/run installs it)")
    return found


def start(argv: list[str], port: int, *, user: str | None = None, timeout: float = 30.0,
          cwd: Path | None = None, log: Path | None = None, env: dict[str, str] | None = None,
          ) -> subprocess.Popen[bytes]:
    prefix = ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups"] if user else []
    with open(log, "ab") if log else contextlib.nullcontext(subprocess.PIPE) as stderr:
        proc = subprocess.Popen([*prefix, *argv], stdout=subprocess.DEVNULL, stderr=stderr, cwd=cwd, env=env,
                                start_new_session=True)
    (waited,) = wait_for([("server", Target(port, "127.0.0.1"))], timeout=timeout)
    if not waited.ready:
        stop(proc)
        said = log.read_bytes() if log else proc.stderr.read() if proc.stderr else b""
        raise RuntimeError(f"{argv[0]} did not listen on {port}: {said.decode(errors='replace')[-800:]}")
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def self_signed(where: Path) -> tuple[Path, Path]:
    key, cert = where / "key.pem", where / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "30", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost"], check=True, capture_output=True,
    )
    return key, cert


def nginx(where: Path, port: int, tls: bool, log: Path | None = None) -> subprocess.Popen[bytes]:
    binary = find("nginx")
    listen = f"127.0.0.1:{port}" + (" ssl" if tls else "")
    certs = ""
    if tls:
        key, cert = self_signed(where)
        certs = f"ssl_certificate {cert}; ssl_certificate_key {key};"
    for sub in ("logs", "tmp"):
        (where / sub).mkdir(exist_ok=True)
    conf = where / "nginx.conf"
    conf.write_text(
        f"daemon off; master_process off; pid {where}/nginx.pid; error_log stderr;\n"
        "events { worker_connections 64; }\n"
        f"http {{ access_log off; client_body_temp_path {where}/tmp; proxy_temp_path {where}/tmp;\n"
        f"  fastcgi_temp_path {where}/tmp; uwsgi_temp_path {where}/tmp; scgi_temp_path {where}/tmp;\n"
        f"  server {{ listen {listen}; {certs} location / {{ return 200 'hello'; }} }} }}\n"
    )
    return start([binary, "-p", str(where), "-c", str(conf), "-e", "stderr"], port, log=log)


def redis(where: Path, port: int, password: str | None = None, log: Path | None = None) -> subprocess.Popen[bytes]:
    argv = [find("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(where), *(["--logfile", str(log)] if log else [])]
    return start(argv + (["--requirepass", password] if password else []), port)


def memcached(port: int, log: Path | None = None) -> subprocess.Popen[bytes]:
    """memcached; with `log`, verbose (-vv: every command and reply) into it."""
    return start([find("memcached"), "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-u", "nobody", "-m", "16",
                  *(["-vv"] if log else [])], port, log=log)


def sshd(where: Path, port: int, log: Path | None = None, level: str = "INFO") -> subprocess.Popen[bytes]:
    binary = find("sshd")
    key = where / "host_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    return start([binary, "-D", "-e", "-f", "/dev/null", "-h", str(key), "-o", f"ListenAddress=127.0.0.1:{port}",
                  "-o", "PidFile=none", "-o", f"LogLevel={level}"], port, log=log)


def postgres(where: Path, port: int, log: Path | None = None, tls: bool = False) -> subprocess.Popen[bytes]:
    initdb, binary = find("initdb"), find("postgres")
    data = where / "pgdata"
    data.mkdir()
    for folder in (where, *where.parents):  # pytest's temp dirs are 0700: let postgres pass through
        if folder == Path("/tmp"):
            break
        folder.chmod(folder.stat().st_mode | 0o011)
    shutil.chown(data, "postgres", "postgres")
    subprocess.run(["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", initdb, "-D", str(data),
                    "-A", "trust", "-U", "postgres"], check=True, capture_output=True, cwd="/")
    options = ["-c", "listen_addresses=127.0.0.1"]
    if tls:
        key, cert = self_signed(where)
        for path in (key, cert):
            shutil.chown(path, "postgres", "postgres")
        key.chmod(0o600)
        options += ["-c", "ssl=on", "-c", f"ssl_cert_file={cert}", "-c", f"ssl_key_file={key}"]
    return start([binary, "-D", str(data), "-p", str(port), "-k", str(data), *options],
                 port, user="postgres", cwd=Path("/"), log=log)


def mariadb(where: Path, port: int, log: Path | None = None) -> subprocess.Popen[bytes]:
    install, binary = find("mariadb-install-db"), find("mariadbd")
    data = where / "mysql"
    subprocess.run([install, "--no-defaults", f"--datadir={data}", "--user=root", "--skip-test-db",
                    "--auth-root-authentication-method=normal"], check=True, capture_output=True)
    return start([binary, "--no-defaults", f"--datadir={data}", f"--socket={where}/mysql.sock", f"--port={port}",
                  "--bind-address=127.0.0.1", "--user=root", "--skip-log-error", f"--pid-file={where}/mysql.pid"],
                 port, timeout=60, log=log)
