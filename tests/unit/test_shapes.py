"""Every --json shape, exactly: hand-built records in, the exact text `--json` prints out (docs/json.md)."""

from __future__ import annotations

import io
import json

import pytest

from portside.auditing import AuditEntry, AuditReport, Check
from portside.auditing.reach import Fate, Outcome
from portside.auditing.verdicts import Path, Reachability, Verdict
from portside.cli.environment import Environment
from portside.cli.render import shapes
from portside.cli.render.tables import write_json
from portside.model import (
    Connection,
    Container,
    ContainerSource,
    Endpoint,
    Engine,
    Exposure,
    Family,
    Finding,
    ForeignListener,
    Holder,
    Inventory,
    KillReport,
    Lease,
    LeaseState,
    Listener,
    ProcessInfo,
    Protocol,
    Route,
    Severity,
    WhoReport,
)
from portside.probing.runner import Attempt
from portside.probing.wait import Waited
from portside.router.control import ProxyRecord
from portside.router.tls.trust import Step

INIT = ProcessInfo(1, "init", ("/sbin/init",), "root", 0, 0, 1, 100.0)
WEB = ProcessInfo(42, "python3", ("python3", "-m", "http.server"), "alice", 1000, 1, 900, 1795000000.25)
P_INIT = '{"pid":1,"name":"init","cmdline":["/sbin/init"],"user":"root","uid":0,"ppid":0,"start_time":100.0}'
P_WEB = ('{"pid":42,"name":"python3","cmdline":["python3","-m","http.server"],"user":"alice","uid":1000,"ppid":1,'
         '"start_time":1795000000.25}')
LISTENER = Listener(Protocol.TCP, Family.IPV4, "127.0.0.1", 8000, False, Exposure.LOOPBACK, ("127.0.0.1",), (WEB,),
                    (777,), ("alice",), 0, 128, None)
CONNECTION = Connection(Protocol.TCP, Family.IPV4, "established", Endpoint("127.0.0.1", 8000),
                        Endpoint("127.0.0.1", 50000), (WEB,), 778)
LEASE = Lease(61234, Protocol.TCP, "api", 4242, 99, 1795560442.5, None)
L_API = '{"port":61234,"name":"api","owner_pid":4242,"expires":null,"protocol":"tcp","created":1795560442.5}'
ROUTE = Route("app", 61234, "run", 4240, 77, 1764025200.0)
PROXY = ProxyRecord(4242, 5, 7355, ("127.0.0.1", "::1"))


def text(data: object) -> str:
    out = io.StringIO()
    write_json(Environment(out, io.StringIO(), None, False, False, False), data)
    return out.getvalue()


CASES = {
    "pick": (shapes.pick_json((LEASE,)), '{"ports":[' + L_API + "]}"),
    "leases": (shapes.leases_json((LeaseState(LEASE, False),)), '{"leases":[' + L_API[:-1] + ',"alive":false}]}'),
    "release": (shapes.release_json((LEASE,)), '{"released":[' + L_API + "]}"),
    "who": (
        shapes.who_json(WhoReport("8000", 8000, (LISTENER,), (Holder(WEB, "/srv", (INIT,)),), (CONNECTION,), ("n",))),
        '{"target":"8000","port":8000,"listeners":[{"protocol":"tcp","family":"ipv4","address":"127.0.0.1",'
        '"port":8000,"dual_stack":false,"exposure":"loopback","reachable_on":["127.0.0.1"],"processes":['
        + P_WEB[:-1] + ',"cwd":"/srv","parents":[' + P_INIT + ']}],"socket_users":["alice"],"inodes":[777],'
        '"accept_queue":0,"backlog":128,"note":null,"container":null}],"connections":[{"protocol":"tcp","family":"ipv4",'
        '"state":"established","local":{"address":"127.0.0.1","port":8000},"remote":{"address":"127.0.0.1",'
        '"port":50000},"processes":[' + P_WEB + '],"inode":778}],"notes":["n"]}',
    ),
    "who nothing": (
        shapes.who_json(WhoReport("localhost:9", 9, (), (), ())),
        '{"target":"localhost:9","port":9,"listeners":[],"connections":[],"notes":[]}',
    ),
    "kill": (
        shapes.kill_json(KillReport("8000", 8000, (WEB,), ((WEB, "SIGTERM"),), (), (), True)),
        '{"target":"8000","port":8000,"dry_run":false,"declined":false,"victims":[' + P_WEB + '],"signalled":['
        + P_WEB[:-1] + ',"signal":"SIGTERM"}],"survivors":[],"vanished":[],"containers":[],"freed":true}',
    ),
    "kill free": (
        shapes.kill_json(KillReport(":9", 9, (), (), (), (), True)),
        ('{"target":":9","port":9,"dry_run":false,"declined":false,"victims":[],"signalled":[],"survivors":[],'
        '"vanished":[],"containers":[],"freed":true}'),
    ),
    "wait": (
        shapes.wait_json((Waited("localhost:3000", True, "127.0.0.1", 0.4123456789,
                                 {"::1": "refused", "127.0.0.1": "connected"}),)),
        ('{"targets":[{"target":"localhost:3000","ready":true,"address":"127.0.0.1","elapsed_s":0.412346,'
        '"seen":{"::1":"refused","127.0.0.1":"connected"}}]}'),
    ),
    "probe": (
        shapes.probe_json("localhost:5432", (Attempt("::1", 5432, "refused", 0.09, None, {}),
                                             Attempt("127.0.0.1", 5432, "connected", 0.07, "postgresql",
                                                     {"ssl": False}))),
        ('{"target":"localhost:5432","attempts":[{"address":"::1","port":5432,"tcp":"refused","connect_ms":0.09,'
        '"protocol":null,"details":{}},{"address":"127.0.0.1","port":5432,"tcp":"connected","connect_ms":0.07,'
        '"protocol":"postgresql","details":{"ssl":false}}]}'),
    ),
    "doctor": (
        shapes.doctor_json("listen:80", (Finding("port-in-use", Severity.FAULT, "held by nginx", "stop it"),)),
        ('{"target":"listen:80","findings":[{"code":"port-in-use","severity":"fault","observed":"held by nginx",'
        '"fix":"stop it"}]}'),
    ),
    "audit": (
        shapes.audit_json(AuditReport((AuditEntry(
            LISTENER._replace(address="0.0.0.0", exposure=Exposure.ALL, reachable_on=("10.0.0.5",)),
            Reachability(Verdict.FILTERED, (Path("eth0", "10.0.0.5", Outcome(Fate.DROP, reason="policy")),),
                         "drop by policy"),
            False, (), (Check("10.0.0.5", Fate.DROP, "timeout"),)),), ("hidden",)), "portside.toml"),
        ('{"policy":"portside.toml","violations":0,"listeners":[{"listener":{"protocol":"tcp","family":"ipv4",'
         '"address":"0.0.0.0","port":8000,"dual_stack":false,"exposure":"all","reachable_on":["10.0.0.5"],'
         '"processes":[' + P_WEB + '],"socket_users":["alice"],"inodes":[777],"accept_queue":0,"backlog":128,"note":null,'
         '"container":null},"verdict":"filtered","reason":"drop by policy","paths":[{"interface":"eth0",'
         '"address":"10.0.0.5","source":null,"fate":"drop","rule":"policy"}],"allowed":false,"violation":false,"verified":[{'
         '"address":"10.0.0.5","predicted":"drop","measured":"timeout","agrees":true}],"findings":[]}],'
         '"notes":["hidden"]}'),
    ),
    "routes": (
        shapes.routes_json((ROUTE,), PROXY, 7355, True),
        ('{"proxy":{"running":true,"port":7355,"https":true,"pid":4242},"routes":[{"name":"app",'
        '"url":"http://app.localhost:7355/","https_url":"https://app.localhost:7355/","port":61234,"kind":"run",'
        '"owner_pid":4240,"created":1764025200.0}]}'),
    ),
    "routes, no proxy": (
        shapes.routes_json((), None, 7355, False),
        '{"proxy":{"running":false,"port":7355,"https":false,"pid":null},"routes":[]}',
    ),
    "alias": (
        shapes.alias_json(Route("db-admin", 8081, "alias", None, None, 1.0), "http://db-admin.localhost:7355/"),
        '{"name":"db-admin","port":8081,"url":"http://db-admin.localhost:7355/"}',
    ),
    "alias removed": (shapes.alias_removed_json("db-admin"), '{"name":"db-admin","removed":true}'),
    "proxy": (
        shapes.proxy_json(PROXY, "running", False),
        ('{"running":true,"state":"running","pid":4242,"port":7355,"hosts":["127.0.0.1","::1"],'
        '"url":"http://NAME.localhost:7355/","https_url":null}'),
    ),
    "proxy down": (shapes.proxy_down_json("not running", 7355),
                   '{"running":false,"state":"not running","port":7355}'),
    "trust": (
        shapes.trust_json("/s/tls/ca.pem", True, False, [Step("Chromium/Chrome (NSS)", "todo", "apt install x")]),
        ('{"ca":"/s/tls/ca.pem","made":true,"removed":false,"stores":[{"store":"Chromium/Chrome (NSS)",'
        '"state":"todo","detail":"apt install x"}]}'),
    ),
    "dashboard": (shapes.dashboard_json("http://portside.localhost:7355/auth?token=ab12"),
                  '{"url":"http://portside.localhost:7355/auth?token=ab12"}'),
    "run": (shapes.run_json("web", "http://web.localhost:7355/", 61234, 999),
            '{"name":"web","url":"http://web.localhost:7355/","port":61234,"pid":999}'),
}


@pytest.mark.parametrize("name", CASES)
def test_shape_is_exact(name: str) -> None:
    data, expected = CASES[name]
    assert text(data) == expected + "\n"


def test_every_shape_function_has_a_case() -> None:
    verbs = {name for name in dir(shapes) if name.endswith("_json") and not name.startswith("_")}
    parts = {"process_json", "endpoint_json", "listener_json", "connection_json", "lease_json", "route_json",
             "inventory_json", "container_json", "foreign_json", "traffic_json"}
    covered = {fn.__name__ for fn in (shapes.pick_json, shapes.leases_json, shapes.release_json, shapes.who_json,
                                      shapes.kill_json, shapes.wait_json, shapes.probe_json, shapes.doctor_json,
                                      shapes.routes_json, shapes.alias_json, shapes.alias_removed_json, shapes.proxy_json,
                                      shapes.proxy_down_json, shapes.trust_json, shapes.run_json,
                                      shapes.event_json, shapes.audit_json, shapes.dashboard_json)}  # watch's events: tests/unit/test_watch_text.py
    assert verbs - parts == covered


def test_ls_document_is_exact_and_the_fast_writer_agrees() -> None:
    found = Inventory((LISTENER,), (CONNECTION,), ("hidden",))
    expected = ('{"listeners":[{"protocol":"tcp","family":"ipv4","address":"127.0.0.1","port":8000,'
                '"dual_stack":false,"exposure":"loopback","reachable_on":["127.0.0.1"],"processes":[' + P_WEB
                + '],"socket_users":["alice"],"inodes":[777],"accept_queue":0,"backlog":128,"note":null,'
                '"container":null}],"notes":["hidden"]}')
    assert shapes.inventory_text(found) == expected
    assert json.loads(shapes.inventory_text(found, True)) == shapes.inventory_json(found, True)


BUSYBOX = ProcessInfo(4300, "busybox", ("busybox", "httpd", "-f", "-p", "8080"), "root", 0, 4290, 5, 1795000001.0)
P_BUSYBOX = ('{"pid":4300,"name":"busybox","cmdline":["busybox","httpd","-f","-p","8080"],"user":"root","uid":0,'
             '"ppid":4290,"start_time":1795000001.0}')
WEB1 = Container(Engine.DOCKER, "9027" * 16, "web1", "local/bb:1", 8080, "172.17.0.2", "running", "docker-proxy",
                 ContainerSource.API, (BUSYBOX,), ("::",), (8080,))
C_WEB1 = ('{"engine":"docker","id":"' + "9027" * 16 + '","name":"web1","image":"local/bb:1","container_port":8080,'
          '"container_address":"172.17.0.2","state":"running","stand_in":"docker-proxy","source":"api",'
          '"inside":["::"],"inside_ports":[8080],"processes":[' + P_BUSYBOX + "]}")
PROXY_PROCESS = ProcessInfo(4200, "docker-proxy", ("/usr/sbin/docker-proxy",), "root", 0, 4100, 4, 1795000000.5)
PUBLISHED = Listener(Protocol.TCP, Family.IPV4, "127.0.0.1", 18080, False, Exposure.LOOPBACK, ("127.0.0.1",),
                     (PROXY_PROCESS,), (900,), ("root",), 0, 4096, None, WEB1)
# Published by a DNAT rule alone: no socket, no owner; nothing inside read (not readable).
BARE = Listener(Protocol.TCP, Family.IPV4, "0.0.0.0", 18081, False, Exposure.ALL, ("127.0.0.1", "10.0.0.2"), (), (),
                note="no socket", container=Container(Engine.PODMAN, None, None, None, 80, "10.88.0.2", None, None,
                                                      ContainerSource.DNAT))
FOREIGN = ForeignListener("net:[4026532395]", "::", 8080, 4300, "busybox", WEB1)


def test_ls_document_with_containers_and_namespaces_is_exact_and_the_fast_writer_agrees() -> None:
    found = Inventory((PUBLISHED, BARE), (), ("n",), (FOREIGN,))
    expected = ('{"listeners":[{"protocol":"tcp","family":"ipv4","address":"127.0.0.1","port":18080,'
                '"dual_stack":false,"exposure":"loopback","reachable_on":["127.0.0.1"],"processes":['
                '{"pid":4200,"name":"docker-proxy","cmdline":["/usr/sbin/docker-proxy"],"user":"root","uid":0,'
                '"ppid":4100,"start_time":1795000000.5}],"socket_users":["root"],"inodes":[900],"accept_queue":0,'
                '"backlog":4096,"note":null,"container":' + C_WEB1 + '},{"protocol":"tcp","family":"ipv4",'
                '"address":"0.0.0.0","port":18081,"dual_stack":false,"exposure":"all","reachable_on":["127.0.0.1",'
                '"10.0.0.2"],"processes":[],"socket_users":[],"inodes":[],"accept_queue":null,"backlog":null,'
                '"note":"no socket","container":{"engine":"podman","id":null,"name":null,"image":null,'
                '"container_port":80,"container_address":"10.88.0.2","state":null,"stand_in":null,"source":"dnat",'
                '"inside":null,"inside_ports":null,"processes":[]}}],"namespaces":[{"namespace":"net:[4026532395]",'
                '"address":"::","port":8080,"pid":4300,"process":"busybox","container":' + C_WEB1 + '}],'
                '"notes":["n"]}')
    assert shapes.inventory_text(found, with_namespaces=True) == expected
    for connections in (False, True):
        for namespaces in (False, True):
            assert (json.loads(shapes.inventory_text(found, connections, namespaces))
                    == shapes.inventory_json(found, connections, namespaces))


def test_kill_document_names_the_containers_stopped() -> None:
    report = KillReport("18080", 18080, (), (), (), (), True, containers=(WEB1,))
    assert text(shapes.kill_json(report)) == (
        '{"target":"18080","port":18080,"dry_run":false,"declined":false,"victims":[],"signalled":[],"survivors":[],'
        '"vanished":[],"containers":[' + C_WEB1 + '],"freed":true}\n')
