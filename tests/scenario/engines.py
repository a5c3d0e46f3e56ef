"""Container engines started by the tests: dockerd and Podman, each in a network namespace of its own.

Each engine keeps all its state under a temporary directory and runs inside a namespace
made for it (`ip netns add`), so its bridge, veths and nat rules live and die there and
the machine's own network never sees them; `portside` is run in that namespace too
(`Engine.portside`). Images come from a busybox rootfs tarball (`docker import`), never a
registry. Daemons are started and stopped by their pid; `stop` removes the containers
first, then kills the daemon and anything it left running, unmounts, deletes the
namespace, and removes the host paths the engines create on their own (/run/docker,
/run/runc, /var/lib/cni, cgroups, ...) when they were not there before.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any, NamedTuple

import pytest

IMAGE = "local/bb:1"
SRC = str(Path(__file__).resolve().parents[2] / "src")
CONTAINERS_CONF = """[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
[engine]
runtime = "runc"
"""
# Host paths the engines create whatever their --data-root or --root: removed after the session when new.
SIDE_PATHS = ("/run/docker", "/run/containerd", "/run/runc", "/run/crun", "/var/lib/cni", "/var/lib/containers",
              "/dev/shm/libpod_lock", "/run/containers", "/run/libpod", "/etc/cni/net.d/87-podman-bridge.conflist")
CGROUP_NAMES = ("docker", "libpod_parent", "machine.slice")
ENGINE_PROCESSES = frozenset({"dockerd", "containerd", "containerd-shim", "conmon", "podman", "runc"})


class Result(NamedTuple):
    """A portside command run in an engine's namespace."""

    status: int
    stdout: str
    stderr: str
    seconds: float

    def json(self) -> Any:
        return json.loads(self.stdout)


class FakeEngine:
    """A unix socket that answers every connection with `reply`, or (None) accepts and never answers: an engine
    that talks garbage, or hangs."""

    def __init__(self, path: Path, reply: bytes | None) -> None:
        self.server = socket.socket(socket.AF_UNIX)
        self.server.bind(str(path))
        os.chmod(path, 0o666)
        self.server.listen(8)
        self.reply = reply
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            if self.reply is None:
                self.held.append(conn)
                continue
            with conn:
                conn.recv(4096)
                conn.sendall(self.reply)

    def close(self) -> None:
        self.server.shutdown(socket.SHUT_RDWR)  # wakes the accept() in serve()
        self.server.close()
        for conn in self.held:
            conn.close()
        self.thread.join(5)


def _find(name: str, package: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin:/usr/bin")
    if found is None:
        pytest.skip(f"{name} is not installed (.ci/run installs {package})")
    return found


def _static_busybox() -> str:
    """/bin/busybox when it is the static build (busybox-static): a whole image in one file."""
    path = shutil.which("busybox") or "/bin/busybox"
    try:
        head = Path(path).read_bytes()[:8192]
    except OSError:
        pytest.skip("busybox is not installed (.ci/run installs busybox-static)")
    if b"ld-linux" in head:
        pytest.skip("busybox is not the static build (.ci/run installs busybox-static)")
    return path


def rootfs_tarball(where: Path) -> Path:
    """A tarball of a root filesystem that is busybox and its applet links, with /www/index.html."""
    busybox = _static_busybox()
    root = where / "rootfs"
    (root / "bin").mkdir(parents=True)
    (root / "www").mkdir()
    (root / "www" / "index.html").write_text("hello from a container\n")
    shutil.copy2(busybox, root / "bin" / "busybox")
    applets = subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True).stdout.split()
    for applet in applets:
        if applet != "busybox":
            (root / "bin" / applet).symlink_to("busybox")
    tarball = where / "rootfs.tar"
    subprocess.run(["tar", "-C", str(root), "-cf", str(tarball), "."], check=True)
    return tarball


def ask(sock: str, target: str, timeout: float = 2.0) -> bytes:
    """GET `target` on an engine's unix socket (HTTP/1.0): the whole reply, or b"" when it does not answer."""
    try:
        with socket.socket(socket.AF_UNIX) as conn:
            conn.settimeout(timeout)
            conn.connect(sock)
            conn.sendall(f"GET {target} HTTP/1.0\r\nHost: engine\r\n\r\n".encode())
            data = b""
            while chunk := conn.recv(65536):
                data += chunk
            return data
    except OSError:
        return b""


def namespace(prefix: str) -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
    return name


def _stop_pid(proc: subprocess.Popen[bytes], wait: float = 20.0) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _strays(marker: str) -> list[int]:
    """Processes whose command line names `marker` (this engine's state directory): only ours can."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                if marker.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    found.append(int(entry))
            except OSError:
                continue
    return found


def _unmount_under(directory: str) -> None:
    mounts = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
    for point in sorted((m for m in mounts if m.startswith(directory + "/")), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], check=False, capture_output=True)


class Engine:
    """One engine daemon in its own network namespace, with its state under `home`."""

    kind = ""

    def __init__(self, home: Path, netns: str) -> None:
        self.home = home
        self.netns = netns
        self.socket = str(home / "api.sock")
        self.daemon: subprocess.Popen[bytes] | None = None
        self.started: list[str] = []

    def inside(self, *argv: str) -> list[str]:
        return ["nsenter", f"--net=/run/netns/{self.netns}", *argv]

    def env(self, api: bool = True) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_HOST", "CONTAINER_HOST")}
        if api:
            env["DOCKER_HOST" if self.kind == "docker" else "CONTAINER_HOST"] = f"unix://{self.socket}"
        return env

    def start(self, tarball: Path) -> None:
        raise NotImplementedError

    def cli(self, *args: str, check: bool = True) -> str:
        raise NotImplementedError

    def portside(self, *args: str, api: bool = True, user: str | None = None, env: dict[str, str] | None = None,
                 timeout: float = 60.0) -> Result:
        """`portside ARGS` run in the engine's namespace; with `api`, pointed at the engine's socket; as `user`
        (a uid) with the system's Python and a state directory of that user's."""
        environment = env if env is not None else self.env(api)
        prefix: list[str] = []
        python = sys.executable
        state = None
        if user is not None:
            prefix = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"]
            python = "/usr/bin/python3"
            state = tempfile.mkdtemp(prefix="ps-nobody-")
            os.chown(state, int(user), int(user))
            environment = {**environment, "PYTHONPATH": SRC, "PATH": "/usr/bin:/bin", "PORTSIDE_HOME": state,
                           "PORTSIDE_BACKEND": "linux"}
        started = time.monotonic()
        try:
            done = subprocess.run(self.inside(*prefix, python, "-m", "portside", *args), capture_output=True,
                                  text=True, env=environment, timeout=timeout, check=False)
        finally:
            if state is not None:
                shutil.rmtree(state, ignore_errors=True)
        return Result(done.returncode, done.stdout, done.stderr, time.monotonic() - started)

    def run(self, name: str, publish: str, *command: str, network: str | None = None) -> str:
        """Start container `name` from the busybox image, publishing `publish` (-p); its full id."""
        extra = ["--network", network] if network else []
        cid = self.cli("run", "-d", "--name", name, *extra, "-p", publish, IMAGE, *command).strip().splitlines()[-1]
        self.started.append(cid)
        return cid

    def remove(self, *names: str) -> None:
        """Kill and remove containers at once (busybox as pid 1 ignores SIGTERM: no grace period to wait out)."""
        if names:
            self.cli("rm", "-f", *(["-t", "0"] if self.kind == "podman" else []), *names, check=False)

    def remove_all(self) -> None:
        self.remove(*self.cli("ps", "-aq", check=False).split())

    def stop(self) -> None:
        self.remove_all()
        if self.daemon is not None:
            _stop_pid(self.daemon)
        for pid in _strays(str(self.home)):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        _unmount_under(str(self.home))
        subprocess.run(["ip", "netns", "del", self.netns], check=False)
        shutil.rmtree(self.home, ignore_errors=True)


class Docker(Engine):
    kind = "docker"

    def __init__(self, home: Path, netns: str, userland_proxy: bool) -> None:
        super().__init__(home, netns)
        self.userland_proxy = userland_proxy
        self.binary = "/usr/bin/docker" if os.access("/usr/bin/docker", os.X_OK) else _find("docker", "docker.io")

    def start(self, tarball: Path) -> None:
        dockerd = _find("dockerd", "docker.io")
        log = open(self.home / "dockerd.log", "wb")  # noqa: SIM115 - the daemon writes it until stopped
        self.daemon = subprocess.Popen(
            self.inside(dockerd, "--data-root", str(self.home / "data"), "--exec-root", str(self.home / "exec"),
                        "--pidfile", str(self.home / "dockerd.pid"), "-H", f"unix://{self.socket}",
                        f"--userland-proxy={'true' if self.userland_proxy else 'false'}"),
            stdout=log, stderr=log, start_new_session=True)
        log.close()
        _ready(self, b"OK")
        self.cli("import", "-c", 'CMD ["/bin/sh"]', "-c", "ENV PATH=/bin", str(tarball), IMAGE)

    def cli(self, *args: str, check: bool = True) -> str:
        done = subprocess.run([self.binary, "-H", f"unix://{self.socket}", *args], capture_output=True, text=True,
                              timeout=120, check=False)
        if check and done.returncode != 0:
            raise RuntimeError(f"docker {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout


class Podman(Engine):
    kind = "podman"

    def __init__(self, home: Path, netns: str) -> None:
        super().__init__(home, netns)
        self.binary = _find("podman", "podman")
        (home / "containers.conf").write_text(CONTAINERS_CONF)

    def podman(self, *args: str) -> list[str]:
        home = self.home
        return [self.binary, "--root", str(home / "root"), "--runroot", str(home / "run"), "--tmpdir",
                str(home / "tmp"), "--network-config-dir", str(home / "net"), "--cgroup-manager", "cgroupfs",
                "--events-backend", "file", *args]

    def podman_env(self) -> dict[str, str]:
        return {**self.env(api=False), "CONTAINERS_CONF": str(self.home / "containers.conf")}

    def start(self, tarball: Path) -> None:
        log = open(self.home / "service.log", "wb")  # noqa: SIM115 - the service writes it until stopped
        self.daemon = subprocess.Popen(
            self.inside(*self.podman("system", "service", "--time=0", f"unix://{self.socket}")),
            stdout=log, stderr=log, env=self.podman_env(), start_new_session=True)
        log.close()
        _ready(self, b"OK")
        self.cli("import", "-c", 'CMD ["/bin/sh"]', "-c", "ENV PATH=/bin", str(tarball), IMAGE)

    def cli(self, *args: str, check: bool = True) -> str:
        done = subprocess.run(self.inside(*self.podman(*args)), capture_output=True, text=True, timeout=120,
                              env=self.podman_env(), check=False)
        if check and done.returncode != 0:
            raise RuntimeError(f"podman {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout


def _ready(engine: Engine, expected: bytes, timeout: float = 30.0) -> None:
    """Wait until the engine's API answers /_ping; skip with its log when it does not start."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if expected in ask(engine.socket, "/_ping", 1.0):
            return
        if engine.daemon is not None and engine.daemon.poll() is not None:
            break
        time.sleep(0.1)
    logs = "".join(path.read_text(errors="replace")[-600:] for path in engine.home.glob("*.log"))
    engine.stop()
    pytest.skip(f"the {engine.kind} engine did not start here: {logs.strip()[-600:]}")


def preconditions() -> None:
    """Skip unless this is root with the tools every engine needs."""
    if os.geteuid() != 0:
        pytest.skip("container engines need root (marked `root`)")
    for tool in ("ip", "nsenter", "tar"):
        _find(tool, "iproute2 and util-linux")


def side_paths() -> set[str]:
    """The host paths the engines make on their own that exist now."""
    found = {path for path in SIDE_PATHS if os.path.lexists(path)}
    found.update(str(path) for path in Path("/sys/fs/cgroup").glob("*/*") if path.name in CGROUP_NAMES)
    found.update(str(path) for path in Path("/run/netns").glob("netns-*"))
    return found


def _engine_processes() -> list[int]:
    """Live engine processes (zombies, such as the shims just killed and not yet reaped, do not count)."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and Path(f"/proc/{entry}/comm").read_text().strip() in ENGINE_PROCESSES:
                stat = Path(f"/proc/{entry}/stat").read_text()
                if stat[stat.rindex(")") + 2] != "Z":
                    found.append(int(entry))
        except (OSError, ValueError):
            continue
    return found


def _engines_running(wait: float = 5.0) -> bool:
    """True while some engine process runs after `wait` s (another test session's, under pytest-xdist)."""
    deadline = time.monotonic() + wait
    while _engine_processes():
        if time.monotonic() > deadline:
            return True
        time.sleep(0.1)
    return False


def clean_side_paths(before: set[str]) -> None:
    """Remove what the engines made on the host since `before` (empty cgroups, state dirs, namespaces), unless
    another session's engine still runs and may use them."""
    if _engines_running():
        return
    for path in sorted(side_paths() - before, key=len, reverse=True):
        if path.startswith("/sys/fs/cgroup/"):
            for directory in sorted(Path(path).glob("**/"), key=lambda p: len(p.parts), reverse=True):
                try:
                    directory.rmdir()
                except OSError:
                    pass
        elif path.startswith("/run/netns/"):
            subprocess.run(["ip", "netns", "del", Path(path).name], check=False, capture_output=True)
        elif os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.unlink(path)


def started(engine: Engine, images: Path) -> Engine:
    """`engine` started with the busybox image imported (built in `images` once); stopped again if that fails."""
    tarball = images / "rootfs.tar"
    if not tarball.exists():
        rootfs_tarball(images)
    try:
        engine.start(tarball)
    except BaseException:
        engine.stop()
        raise
    return engine


def docker(images: Path, userland_proxy: bool) -> Docker:
    """dockerd in a namespace of its own, running, with the image imported."""
    preconditions()
    prefix = "ps-dk" if userland_proxy else "ps-dn"
    engine = Docker(Path(tempfile.mkdtemp(prefix=f"{prefix}-")), namespace(prefix), userland_proxy)
    started(engine, images)
    return engine


def podman(images: Path) -> Podman:
    """Podman and its API service in a namespace of their own, with the image imported."""
    preconditions()
    engine = Podman(Path(tempfile.mkdtemp(prefix="ps-pm-")), namespace("ps-pm"))
    started(engine, images)
    return engine
