"""More real servers for the probe's tests, each on a port of the test's own, with its own config and log.

Dovecot (IMAP, POP3), vsftpd, git daemon, an rsync daemon, TigerVNC's Xvnc, NATS, Mosquitto (MQTT),
OpenLDAP's slapd, Unbound (DNS over TCP, answering from a static root zone so that it never
asks anyone else), RabbitMQ (AMQP, with an epmd of its own), nginx speaking h2c, a gRPC
server, aiosmtpd (SMTP), the Node inspector and Chromium's DevTools endpoint. Each starter
returns a `Daemon` once its port accepts: the processes to stop (by the pids started here)
and the log file it writes, which the tests read afterwards. Servers that drop privileges
get the directories they need under /tmp with modes their users can pass.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

from servers import find, start, stop
from support import HERE, unleased_port


class Daemon(NamedTuple):
    """Running server processes (the last is stopped first) and the file the server logs to."""

    procs: tuple[subprocess.Popen[bytes], ...]
    log: Path
    scratch: tuple[Path, ...] = ()

    def stop(self) -> None:
        for proc in reversed(self.procs):
            stop(proc)
        for folder in self.scratch:
            shutil.rmtree(folder, ignore_errors=True)


def _open_folder(prefix: str) -> Path:
    """A folder under /tmp that a server's unprivileged user may pass through (pytest's are 0700)."""
    folder = Path(tempfile.mkdtemp(prefix=f"portside-{prefix}-"))
    folder.chmod(0o755)
    return folder


def dovecot(where: Path, imap: int, pop3: int) -> Daemon:
    binary = find("dovecot")
    run = _open_folder("dovecot")
    log = where / "dovecot.log"
    conf = where / "dovecot.conf"
    conf.write_text(f"""base_dir = {run}/run
state_dir = {run}/state
protocols = imap pop3
listen = 127.0.0.1
log_path = {log}
ssl = no
disable_plaintext_auth = no
passdb {{
  driver = static
  args = nopassword=y
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={run}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    port = {imap}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {pop3}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
""")
    proc = start([binary, "-F", "-c", str(conf)], imap, log=where / "dovecot.stderr")
    return Daemon((proc,), log, (run,))


def git_daemon(where: Path, port: int) -> Daemon:
    """git daemon serving one bare repository; it logs errors only (no --verbose)."""
    git = find("git")
    subprocess.run([git, "init", "-q", "--bare", str(where / "repos" / "project.git")], check=True)
    log = where / "git-daemon.log"
    argv = [git, "daemon", "--reuseaddr", "--listen=127.0.0.1", f"--port={port}", f"--base-path={where / 'repos'}",
            "--export-all", str(where / "repos")]
    return Daemon((start(argv, port, log=log),), log)


def vsftpd(where: Path, port: int) -> Daemon:
    binary = find("vsftpd")
    empty = _open_folder("vsftpd-empty")
    log = where / "vsftpd.log"
    conf = where / "vsftpd.conf"
    conf.write_text(f"""listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port={port}
background=NO
anonymous_enable=NO
local_enable=YES
write_enable=NO
pasv_enable=NO
seccomp_sandbox=NO
secure_chroot_dir={empty}
xferlog_enable=YES
dual_log_enable=YES
log_ftp_protocol=YES
syslog_enable=NO
vsftpd_log_file={log}
xferlog_file={where}/xferlog
""")
    return Daemon((start([binary, str(conf)], port, log=where / "vsftpd.stderr"),), log, (empty,))


def rsyncd(where: Path, port: int) -> Daemon:
    binary = find("rsync")
    (where / "module").mkdir()
    conf = where / "rsyncd.conf"
    conf.write_text(f"use chroot = no\npid file = {where}/rsyncd.pid\n[files]\npath = {where}/module\nread only = yes\n")
    log = where / "rsyncd.log"
    proc = start([binary, "--daemon", "--no-detach", f"--config={conf}", f"--port={port}", "--address=127.0.0.1",
                  f"--log-file={log}"], port, log=where / "rsyncd.stderr")
    return Daemon((proc,), log)


def _free_display() -> int:
    for display in range(40, 100):
        if not Path(f"/tmp/.X{display}-lock").exists() and not Path(f"/tmp/.X11-unix/X{display}").exists():
            return display
    raise RuntimeError("no free X display number between :40 and :99")


def xvnc(where: Path, port: int) -> Daemon:
    binary = find("Xvnc")
    log = where / "xvnc.log"
    proc = start([binary, f":{_free_display()}", "-rfbport", str(port), "-interface", "127.0.0.1", "-SecurityTypes",
                  "None", "-nolisten", "tcp", "-desktop", "portside-test"], port, log=log)
    return Daemon((proc,), log)


def nats(where: Path, port: int) -> Daemon:
    log = where / "nats.log"
    return Daemon((start([find("nats-server"), "-a", "127.0.0.1", "-p", str(port), "-D"], port, log=log),), log)


def mosquitto(where: Path, port: int) -> Daemon:
    conf = where / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n"
                    "log_type all\n")
    log = where / "mosquitto.log"
    return Daemon((start([find("mosquitto"), "-c", str(conf)], port, log=log),), log)


def slapd(where: Path, port: int) -> Daemon:
    (where / "db").mkdir()
    conf = where / "slapd.conf"
    conf.write_text(f"""include /etc/ldap/schema/core.schema
pidfile {where}/slapd.pid
argsfile {where}/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
suffix "dc=example,dc=test"
rootdn "cn=admin,dc=example,dc=test"
directory {where}/db
""")
    log = where / "slapd.log"
    proc = start([find("slapd"), "-f", str(conf), "-h", f"ldap://127.0.0.1:{port}/", "-d", "stats"], port, log=log)
    return Daemon((proc,), log)


def unbound(where: Path, port: int) -> Daemon:
    conf = where / "unbound.conf"
    conf.write_text(f"""server:
  interface: 127.0.0.1
  port: {port}
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "{where}"
  pidfile: "{where}/unbound.pid"
  use-syslog: no
  logfile: ""
  verbosity: 1
  log-queries: yes
  log-replies: yes
  do-ip6: no
  access-control: 127.0.0.0/8 allow
  module-config: "iterator"
  local-zone: "." static
remote-control:
  control-enable: no
""")
    log = where / "unbound.log"
    return Daemon((start([find("unbound"), "-d", "-c", str(conf)], port, log=log),), log)


RABBITMQ_DIRECT = "/usr/lib/rabbitmq/bin/rabbitmq-server"


def rabbitmq(where: Path, port: int) -> Daemon:
    """RabbitMQ with an epmd of its own on another free port, everything bound to 127.0.0.1.

    Debian's /usr/sbin/rabbitmq-server switches to the rabbitmq user, who may not write the test's
    folder; the script behind it runs the broker as the caller.
    """
    server = find("rabbitmq-server")
    if Path(RABBITMQ_DIRECT).exists():
        server = RABBITMQ_DIRECT
    epmd_port, dist_port = unleased_port(), unleased_port()
    epmd = start([find("epmd"), "-address", "127.0.0.1", "-port", str(epmd_port)], epmd_port,
                 log=where / "epmd.log")
    log = where / "rabbit.log"
    (where / "enabled_plugins").write_text("[].\n")
    (where / "rabbitmq.conf").write_text("")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(where), "LANG": "C.UTF-8",
        "ERL_EPMD_PORT": str(epmd_port), "ERL_EPMD_ADDRESS": "127.0.0.1",
        "RABBITMQ_NODENAME": f"portside{port}@localhost", "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
        "RABBITMQ_NODE_PORT": str(port), "RABBITMQ_DIST_PORT": str(dist_port),
        "RABBITMQ_MNESIA_BASE": str(where / "mnesia"), "RABBITMQ_LOG_BASE": str(where),
        "RABBITMQ_LOGS": str(log), "RABBITMQ_PID_FILE": str(where / "rabbit.pid"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(where / "enabled_plugins"),
        "RABBITMQ_CONFIG_FILE": str(where / "rabbitmq"),
        "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
    }
    try:
        proc = start([server], port, timeout=90, cwd=where, env=env, log=where / "rabbit.stderr")
    except BaseException:
        stop(epmd)
        raise
    return Daemon((epmd, proc), log)


def nginx_h2c(where: Path, port: int) -> Daemon:
    """nginx with an HTTP/2-only cleartext listener (prior knowledge), logging from the info level up."""
    binary = find("nginx")
    for sub in ("logs", "tmp"):
        (where / sub).mkdir(exist_ok=True)
    log = where / "error.log"
    conf = where / "nginx.conf"
    conf.write_text(
        f"daemon off; master_process off; pid {where}/nginx.pid; error_log {log} info;\n"
        "events { worker_connections 64; }\n"
        f"http {{ access_log off; client_body_temp_path {where}/tmp; proxy_temp_path {where}/tmp;\n"
        f"  fastcgi_temp_path {where}/tmp; uwsgi_temp_path {where}/tmp; scgi_temp_path {where}/tmp;\n"
        f"  server {{ listen 127.0.0.1:{port} http2; location / {{ return 200 'hello'; }} }} }}\n"
    )
    return Daemon((start([binary, "-p", str(where), "-c", str(conf), "-e", str(log)], port),), log)


def grpc(where: Path, port: int, health: bool) -> Daemon:
    log = where / "grpc.log"
    argv = [sys.executable, str(HERE / "grpcserver.py"), str(port), *(["--health"] if health else [])]
    return Daemon((start(argv, port, log=log),), log)


def aiosmtpd(where: Path, port: int) -> Daemon:
    log = where / "smtpd.log"
    return Daemon((start([sys.executable, "-m", "aiosmtpd", "-n", "-d", "-l", f"127.0.0.1:{port}"], port, log=log),),
                  log)


def node_inspector(where: Path, port: int) -> Daemon:
    log = where / "node.log"
    argv = [find("node"), f"--inspect=127.0.0.1:{port}", "-e", "setTimeout(() => {}, 3600 * 1000)"]
    return Daemon((start(argv, port, log=log),), log)


def chromium_devtools(where: Path, port: int) -> Daemon:
    log = where / "chromium.log"
    argv = [find("chromium"), "--headless=new", "--no-sandbox", "--disable-gpu", "--remote-debugging-address=127.0.0.1",
            f"--remote-debugging-port={port}", f"--user-data-dir={where / 'profile'}", "about:blank"]
    return Daemon((start(argv, port, log=log, timeout=60),), log)


def vite(where: Path, port: int, project: Path) -> Daemon:
    web = where / "web"
    shutil.copytree(project, web, symlinks=True, ignore=shutil.ignore_patterns(".vite"))
    log = where / "vite.log"
    argv = [str(web / "node_modules" / ".bin" / "vite"), "--port", str(port), "--strictPort", "--host", "127.0.0.1"]
    return Daemon((start(argv, port, log=log, cwd=web, timeout=60),), log)


def http_server(where: Path, port: int) -> Daemon:
    log = where / "http.log"
    argv = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(where)]
    return Daemon((start(argv, port, log=log),), log)
