"""Bytes real servers sent to the probe, captured on Debian 12 (each named with its server and version).

Captured by connecting to each server as the probe does and recording every byte until the
fingerprint decided. Kafka and Rails are built from the protocol's and the framework's
documented defaults instead (named so): neither installs here from Debian, PyPI or npm.
"""

from __future__ import annotations

import struct

# OpenSSH 9.2p1 (Debian 12) greeting
SSH_OPENSSH = b'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10\r\n'

# vsftpd 3.0.3 greeting
FTP_VSFTPD = b'220 (vsFTPd 3.0.3)\r\n'

# aiosmtpd 1.4.6 greeting
SMTP_AIOSMTPD = b'220 localhost Python SMTP 1.4.6\r\n'

# Dovecot 2.3.19.1 IMAP greeting
IMAP_DOVECOT = (
    b'* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRA'
    b'LS ID ENABLE IDLE LITERAL+ AUTH=PLAIN] Dovecot ('
    b'Debian) ready.\r\n'
)

# Dovecot 2.3.19.1 POP3 greeting
POP3_DOVECOT = b'+OK Dovecot (Debian) ready.\r\n'

# MariaDB 10.11.19 initial handshake
MYSQL_MARIADB = (
    b'd\x00\x00\x00\n5.5.5-10.11.19-MariaDB-0+deb12u1\x001\x00\x00\x00slESR"'
    b'ND\x00\xfe\xf7\x08\x02\x00\xff\x81\x15\x00\x00\x00\x00\x00\x00\x1d\x00\x00\x00J&{]?cVf{X([\x00mysql_native_p'
    b'assword\x00'
)

# rsync 3.5.0 daemon greeting (protocol 32)
RSYNC_DAEMON = b'@RSYNCD: 32.0 sha512 sha256 sha1 md5 md4\n'

# TigerVNC 1.12 Xvnc ProtocolVersion
VNC_TIGERVNC = b'RFB 003.008\n'

# TigerVNC 1.12 Xvnc after five connections from one address in 10 s that did not log in
VNC_BLACKLISTED = b'RFB 003.003\n\x00\x00\x00\x00\x00\x00\x00\x1aToo many security failures'

# nats-server 2.9.10 INFO
NATS_INFO = (
    b'INFO {"server_id":"NCNLDQ7UFN2QKTLCDKDURGZZKVY5Q'
    b'SCUQ3STBCJ4KRRWY43MBQY4LZO6","server_name":"NCNL'
    b'DQ7UFN2QKTLCDKDURGZZKVY5QSCUQ3STBCJ4KRRWY43MBQY4'
    b'LZO6","version":"2.9.10","proto":1,"go":"go1.19.'
    b'8","host":"127.0.0.1","port":51422,"headers":tru'
    b'e,"max_payload":1048576,"client_id":46,"client_i'
    b'p":"127.0.0.1"} \r\n'
)

# grpcio 1.85 server: SETTINGS sent before the client speaks
GRPC_SETTINGS = (
    b'\x00\x00\x18\x04\x00\x00\x00\x00\x00\x00\x04\x00@\x00\x00\x00\x05\x00@\x00\x00\x00\x06\x00\x00@\x00\xfe\x03\x00\x00\x00\x01\x00\x00\x04\x08\x00\x00\x00\x00\x00\x00?\x00\x01'
)

# Redis 7.0.15 answer to PING
REDIS_PONG = b'+PONG\r\n'

# Redis 7.0.15 with requirepass: answer to PING
REDIS_NOAUTH = b'-NOAUTH Authentication required.\r\n'

# Redis 7.0.15 with requirepass: answer to the probe's GET
REDIS_ON_GET = (
    b"-ERR wrong number of arguments for 'get' command"
    b"\r\n-ERR unknown command 'Host:127.0.0.1:53667', w"
    b'ith args beginning with: \r\n-ERR unknown command '
    b"'User-Agent:', with args beginning with: 'portsi"
    b"de' \r\n-ERR unknown command 'Accept:', with args "
    b"beginning with: '*/*' \r\n-ERR unknown command 'Co"
    b"nnection:', with args beginning with: 'close' \r\n"
)

# memcached 1.6.18 answer to version
MEMCACHED_VERSION = b'VERSION 1.6.18\r\n'

# RabbitMQ 3.10.8 Connection.Start
AMQP_RABBITMQ = (
    b'\x01\x00\x00\x00\x00\x01\xed\x00\n\x00\n\x00\t\x00\x00\x01\xc8\x0ccapabilitiesF\x00\x00\x00\xc7\x12publisher_co'
    b'nfirmst\x01\x1aexchange_exchange_bindingst\x01\nbasic.nack'
    b't\x01\x16consumer_cancel_notifyt\x01\x12connection.blockedt\x01'
    b'\x13consumer_prioritiest\x01\x1cauthentication_failure_cl'
    b'oset\x01\x10per_consumer_qost\x01\x0fdirect_reply_tot\x01\x0cclust'
    b'er_nameS\x00\x00\x00\x06p14@vm\tcopyrightS\x00\x00\x007Copyright (c) 2'
    b'007-2022 VMware, Inc. or its affiliates.\x0binforma'
    b'tionS\x00\x00\x009Licensed under the MPL 2.0. Website: ht'
    b'tps://rabbitmq.com\x08platformS\x00\x00\x00\x11Erlang/OTP 25.2.'
    b'3\x07productS\x00\x00\x00\x08RabbitMQ\x07versionS\x00\x00\x00\x063.10.8\x00\x00\x00\x0ePLA'
    b'IN AMQPLAIN\x00\x00\x00\x05en_US\xce'
)

# RabbitMQ 3.10.8 answer to the probe's GET
AMQP_ON_GET = b'AMQP\x00\x00\t\x01'

# mosquitto 2.0.11 CONNACK
MQTT_MOSQUITTO = b' \x02\x00\x00'

# OpenLDAP slapd 2.5.13 root DSE answer
LDAP_SLAPD = (
    b'0N\x02\x01\x01dI\x04\x000E0&\x04\x0enamingContexts1\x14\x04\x12dc=example,dc=t'
    b'est0\x1b\x04\x14supportedLDAPVersion1\x03\x04\x0130\x0c\x02\x01\x01e\x07\n\x01\x00\x04\x00\x04\x00'
)

# unbound 1.17.1 answer to . NS, RD=0 (local-zone . static)
DNS_UNBOUND = b'\x00\x11ps\x84\x83\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x01'

# nginx 1.22.1 'listen ... http2' (h2c only): answer to the probe's GET
H2C_NGINX_ON_GET = (
    b'\x00\x00\x12\x04\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x80\x00\x04\x00\x01\x00\x00\x00\x05\x00\xff\xff\xff\x00\x00\x04\x08\x00\x00\x00\x00\x00\x7f\xff\x00\x00\x00\x00\x08\x07\x00\x00\x00\x00'
    b'\x00\x00\x00\x00\x00\x00\x00\x00\x01'
)

# nginx 1.22.1 h2c: answer to the health-check POST
H2C_NGINX = (
    b'\x00\x00\x12\x04\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x80\x00\x04\x00\x01\x00\x00\x00\x05\x00\xff\xff\xff\x00\x00\x04\x08\x00\x00\x00\x00\x00\x7f\xff\x00\x00\x00\x00\x00\x04\x01\x00\x00\x00'
    b'\x00\x00\x000\x01\x04\x00\x00\x00\x01\x88v\x89\xaacU\xe5\x80\xae!.\x1fa\x96\xdfi~\x94\x00T\xbeR( \t\xc5\x00\xe5\xc0\x86\xe3N\xa9\x8bF\xff_\x87'
    b'I|\xa5\x8a\xe8\x19\xaa\\\x015\x00\x00\x05\x00\x01\x00\x00\x00\x01hello\x00\x00\x04\x03\x00\x00\x00\x00\x01\x00\x00\x00\x00'
)

# grpcio 1.85 with grpc_health: answer to the health check
GRPC_HEALTH = (
    b'\x00\x00\x18\x04\x00\x00\x00\x00\x00\x00\x04\x00@\x00\x00\x00\x05\x00@\x00\x00\x00\x06\x00\x00@\x00\xfe\x03\x00\x00\x00\x01\x00\x00\x04\x08\x00\x00\x00\x00\x00\x00?\x00\x01\x00\x00'
    b'\x00\x04\x01\x00\x00\x00\x00\x00\x00\x04\x08\x00\x00\x00\x00\x00\x00\x00\x00\x05\x00\x00\x08\x06\x00\x00\x00\x00\x00h)_[\x83\xf0<\xa0\x00\x00N\x01\x04\x00\x00\x00\x01\x88@'
    b'\x0ccontent-type\x10application/grpc@\x14grpc-accept-enco'
    b'ding\x17identity, deflate, gzip\x00\x00\x07\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x02\x08\x01\x00\x00\x1e\x01'
    b'\x05\x00\x00\x00\x01@\x0bgrpc-status\x010\x00\x0cgrpc-message\x00'
)

# grpcio 1.85 without a health service
GRPC_NO_HEALTH = (
    b'\x00\x00\x18\x04\x00\x00\x00\x00\x00\x00\x04\x00@\x00\x00\x00\x05\x00@\x00\x00\x00\x06\x00\x00@\x00\xfe\x03\x00\x00\x00\x01\x00\x00\x04\x08\x00\x00\x00\x00\x00\x00?\x00\x01\x00\x00'
    b'\x00\x04\x01\x00\x00\x00\x00\x00\x00P\x01\x05\x00\x00\x00\x01\x88@\x0ccontent-type\x10application/grpc'
    b'@\x0bgrpc-status\x0212\x00\x0cgrpc-message\x11Method not found!'
    b'\x00\x00\x04\x08\x00\x00\x00\x00\x00\x00\x00\x00\x05\x00\x00\x08\x06\x00\x00\x00\x00\x00$\x18`Kk\xcb\x1f\xbe'
)

# node 20.20 --inspect: answer to GET /
NODE_INSPECTOR_ROOT = (
    b'HTTP/1.0 400 Bad Request\r\nContent-Type: text/htm'
    b'l; charset=UTF-8\r\n\r\nWebSockets request was expec'
    b'ted\r\n'
)

# node 20.20 --inspect: /json/version
NODE_INSPECTOR_VERSION = (
    b'HTTP/1.0 200 OK\r\nContent-Type: application/json;'
    b' charset=UTF-8\r\nCache-Control: no-cache\r\nContent'
    b'-Length: 65\r\n\r\n{\n  "Browser": "node.js/v20.20.2"'
    b',\n  "Protocol-Version": "1.1"\n} '
)

# Chromium 156 --remote-debugging-port: answer to GET /
CHROME_DEVTOOLS_ROOT = (
    b'HTTP/1.1 200 OK\r\nX-Frame-Options:DENY\r\nContent-L'
    b'ength:0\r\nContent-Type:text/html; charset=UTF-8\r\n'
    b'\r\n'
)

# Chromium 156 --remote-debugging-port: /json/version
CHROME_DEVTOOLS_VERSION = (
    b'HTTP/1.1 200 OK\r\nContent-Security-Policy:frame-a'
    b"ncestors 'none'\r\nContent-Length:444\r\nContent-Typ"
    b'e:application/json; charset=UTF-8\r\n\r\n{\n   "Brows'
    b'er": "Chrome/156.0.8078.114",\n   "File-Path-Styl'
    b'e": "posix",\n   "Protocol-Version": "1.3",\n   "U'
    b'ser-Agent": "Mozilla/5.0 (X11; Linux x86_64) App'
    b'leWebKit/537.36 (KHTML, like Gecko) HeadlessChro'
    b'me/156.0.0.0 Safari/537.36",\n   "V8-Version": "1'
    b'5.6.75.63",\n   "WebKit-Version": "537.36 (@ea19f'
    b'9737303a76e07b53c6a1eec43355aca3b1d)",\n   "webSo'
    b'cketDebuggerUrl": "ws://127.0.0.1:51222/devtools'
    b'/browser/a9f27cab-2ad4-431c-930f-9aacc1c75ab3"\n}'
    b'\n'
)

# Vite 6.4.6 dev server: GET /
VITE_PAGE = (
    b'HTTP/1.1 200 OK\r\nVary: Origin\r\nContent-Type: tex'
    b't/html\r\nCache-Control: no-cache\r\nEtag: W/"128-gn'
    b'SvYJD/VHw2CNE5lR/mmszY74w"\r\nDate: Tue, 01 Dec 20'
    b'26 06:11:47 GMT\r\nConnection: close\r\nContent-Leng'
    b'th: 296\r\n\r\n<!doctype html>\n<html lang="en">\n  <h'
    b'ead>\n    <script type="module" src="/@vite/clien'
    b't"></script>\n\n    <meta charset="utf-8">\n    <ti'
    b'tle>portside dev server</title>\n  </head>\n  <bod'
    b'y>\n    <p id="marker">waiting for main.js</p>\n  '
    b'  <script type="module" src="/main.js"></script>'
    b'\n  </body>\n</html>\n'
)

# Django 5.2.19 runserver, a new project (DEBUG): GET /
DJANGO_PAGE = (
    b'HTTP/1.1 200 OK\r\nDate: Tue, 01 Dec 2026 06:11:47'
    b' GMT\r\nServer: WSGIServer/0.2 CPython/3.11.7\r\nCon'
    b'tent-Type: text/html; charset=utf-8\r\nX-Frame-Opt'
    b'ions: DENY\r\nContent-Length: 12068\r\nX-Content-Typ'
    b'e-Options: nosniff\r\nReferrer-Policy: same-origin'
    b'\r\nCross-Origin-Opener-Policy: same-origin\r\n\r\n\n<!'
    b'doctype html>\n\n<html lang="en-us" dir="ltr">\n  <'
    b'head>\n    <meta charset="utf-8">\n    <title>The '
    b'install worked successfully! Congratulations!</t'
    b'itle>\n    <meta name="viewport" content="width=d'
    b'evice-width, initial-scale=1">\n    <style>\n     '
    b' html {\n        line-height: 1.15;\n      }\n     '
    b' a {\n        color: #092e20;\n      }\n      body '
    b'{\n        max-width: 960px;\n        color: #5252'
    b'52;\n        font-family: "Segoe UI", system-ui, '
    b'sans-serif;\n        margin: 0 auto;\n      }\n    '
    b'  main {\n        text-align: center;\n      }\n   '
    b'   h1, h2, h3, h4, h5, p, ul {\n        padding: '
    b'0;\n        margin: 0;\n        font-weight: 400;\n'
    b'      }\n      .logo {\n        background-image: '
    b'url("data:image/svg+xml,%3Csvg xmlns=\'http://www'
    b".w3.org/2000/svg' viewBox='0 0 19.16 6.696'%3E%3"
    b"Cg fill='rgb(9 46 32)'%3E%3Cpath d='m2.259 3.55e"
    b'-8h1.048v4.851c-0.5377 0.1021-0.9324 0.1429-1.36'
    b'1 0.1429-1.279 0-1.946-0.5784-1.946-1.688 0-1.06'
    b'8 0.7078-1.763 1.804-1.763 0.1701 0 0.2994 0.013'
    b'65 0.456 0.0544v-1.598zm0 2.442c-0.1225-0.04079-'
    b'0.2246-0.0544-0.3539-0.0544-0.5308 0-0.8371 0.32'
    b'67-0.8371 0.8983 0 0.5582 0.2927 0.8644 0.8303 0'
    b".8644 0.1156 0 0.211-0.00681 0.3607-0.02713z'/%3"
    b"E%3Cpath d='m4.975 1.618v2.43c0 0.837-0.06125 1."
    b'239-0.245 1.586-0.1702 0.3335-0.3948 0.5444-0.85'
    b'75 0.7758l-0.9732-0.4628c0.4628-0.2178 0.6874-0.'
    b'4082 0.8303-0.701 0.1498-0.2994 0.1974-0.6466 0.'
    b'1974-1.559v-2.069zm-1.048-1.613h1.048v1.075h-1.0'
    b"48z'/%3E%3Cpath d='m5.608 1.857c0.4628-0.2178 0."
    b'9052-0.313 1.388-0.313 0.5377 0 0.8915 0.1429 1.'
    b'048 0.422 0.08842 0.1565 0.1156 0.3606 0.1156 0.'
    b'7963v2.13c-0.4696 0.06814-1.062 0.1157-1.497 0.1'
    b'157-0.8779 0-1.273-0.3063-1.273-0.9868 0-0.7351 '
    b'0.524-1.075 1.81-1.184v-0.2314c0-0.1905-0.09527-'
    b'0.2585-0.3607-0.2585-0.3879 0-0.8235 0.1088-1.23'
    b'2 0.3198v-0.8099zm1.64 1.667c-0.6942 0.06814-0.9'
    b'188 0.177-0.9188 0.4492 0 0.2042 0.1293 0.2995 0'
    b'.4152 0.2995 0.1566 0 0.2994-0.01365 0.5036-0.04'
    b"759z'/%3E%3Cpath d='m8.671 1.782c0.6193-0.1634 1"
    b'.13-0.2382 1.647-0.2382 0.5377 0 0.9256 0.1224 1'
    b'.157 0.3607 0.2178 0.2245 0.2858 0.4695 0.2858 0'
    b'.9936v2.055h-1.048v-2.015c0-0.4015-0.1361-0.5513'
    b'-0.5104-0.5513-0.1429 0-0.2722 0.01365-0.4833 0.'
    b"0749v2.491h-1.048v-3.171z'/%3E%3Cpath d='m12.17 "
    b'5.525c0.3676 0.1905 0.735 0.279 1.123 0.279 0.68'
    b'73 0 0.98-0.279 0.98-0.946v-0.0205c-0.2042 0.102'
    b'1-0.4084 0.143-0.6805 0.143-0.9188 0-1.504-0.605'
    b'8-1.504-1.565 0-1.191 0.8644-1.865 2.396-1.865 0'
    b'.4492 0 0.8644 0.04759 1.368 0.1496l-0.3589 0.75'
    b'61c-0.2791-0.05449-0.02235-0.00733-0.2332-0.0277'
    b'5v0.1089l0.01357 0.4423 0.0068 0.5717c0.0068 0.1'
    b'428 0.0068 0.2858 0.01365 0.4287v0.2859c0 0.8984'
    b'-0.07486 1.32-0.2994 1.667-0.3267 0.5105-0.8916 '
    b'0.7623-1.695 0.7623-0.4084 0-0.7622-0.06129-1.13'
    b'-0.2042v-0.9663zm2.083-3.131h-0.03398-0.0749c-0.'
    b'2041-0.00681-0.4423 0.04759-0.6057 0.1497-0.2517'
    b' 0.143-0.3811 0.4016-0.3811 0.7691 0 0.5241 0.25'
    b'87 0.8235 0.7214 0.8235 0.1429 0 0.2586-0.02722 '
    b'0.3947-0.06805v-0.3607c0-0.1225-0.0068-0.2587-0.'
    b'0068-0.4016l-0.0068-0.4832-0.0068-0.3471v-0.0817'
    b"1z'/%3E%3Cpath d='m17.48 1.53c1.048 0 1.688 0.66"
    b'02 1.688 1.729 0 1.096-0.6669 1.783-1.729 1.783-'
    b'1.048 0-1.695-0.6601-1.695-1.722 4.4e-5 -1.103 0'
    b'.667-1.79 1.736-1.79zm-0.0205 2.668c0.4016 0 0.6'
    b'398-0.3335 0.6398-0.912 0-0.5716-0.2314-0.9119-0'
    b'.6329-0.9119-0.4152 0-0.6535 0.3336-0.6535 0.911'
    b"9 4.4e-5 0.5786 0.2383 0.912 0.6465 0.912z'/%3E%"
    b'3C/g%3E%3C/svg%3E");\n        color: #092e20;\n   '
    b'     background-position-x: center;\n        back'
    b'ground-repeat: no-repeat;\n        font-size: 2re'
    b'm;\n        font-weight: 700;\n        margin-top:'
    b' 16px;\n        overflow: hidden;\n        text-de'
    b'coration: none;\n        text-indent: 100%;\n     '
    b'   display: inline-block;\n      }\n      .figure '
    b'{\n        margin-top: 22vh;\n        max-width: 2'
    b'65px;\n        position: relative;\n        z-inde'
    b'x: -9;\n        overflow: visible;\n      }\n      '
    b'.exhaust__line {\n        animation: thrust 70ms '
    b'100 ease-in-out alternate;\n      }\n      .smoke '
    b'{\n        animation: smoke .1s 70 ease-in-out al'
    b'ternate;\n      }\n      @keyframes smoke {\n      '
    b'  0% {\n          transform: translate3d(-5px, 0,'
    b' 0);\n        }\n        100% {\n          transfor'
    b'm: translate3d(5px, 0, 0);\n        }\n      }\n   '
    b'   .flame {\n        animation: burnInner2 .1s 70'
    b' ease-in-out alternate;\n      }\n      @keyframes'
    b' burnInner2 {\n        0% {\n          transform: '
    b'translate3d(0, 0, 0);\n        }\n        100% {\n '
    b'         transform: translate3d(0, 3px, 0);\n    '
    b'    }\n      }\n      @keyframes thrust {\n        '
    b'0% {\n          opacity: 1;\n        }\n        100'
    b'% {\n          opacity: .5;\n        }\n      }\n   '
    b'   @media (prefers-reduced-motion: reduce) {\n   '
    b'     .exhaust__line,\n        .smoke,\n        .fl'
    b'ame {\n          animation: none;\n        }\n     '
    b' }\n      h1 {\n        font-size: 1.375rem;\n     '
    b'   max-width: 32rem;\n        margin: 5px auto 0;'
    b'\n      }\n      main p {\n        line-height: 1.2'
    b'5;\n        max-width: 26rem;\n        margin: 15p'
    b'x auto 0;\n      }\n      footer {\n        display'
    b': grid;\n        grid-template-columns: 1fr 1fr 1'
    b'fr;\n        gap: 5px;\n        padding: 25px 0;\n '
    b'       position: fixed;\n        box-sizing: bord'
    b'er-box;\n        left: 50%;\n        bottom: 0;\n  '
    b'      width: 960px;\n        transform: translate'
    b'X(-50%);\n        transform-style: preserve-3d;\n '
    b'       border-top: 1px solid #efefef;\n      }\n  '
    b'    .option {\n        display: grid;\n        gri'
    b'd-template-columns: min-content 1fr;\n        gap'
    b': 10px;\n        box-sizing: border-box;\n        '
    b'text-decoration: none;\n      }\n      .option svg'
    b' {\n        width: 1.5rem;\n        height: 1.5rem'
    b';\n        fill: gray;\n        border: 1px solid '
    b'#d6d6d6;\n        padding: 5px;\n        border-ra'
    b'dius: 100%;\n      }\n      .option p {\n        fo'
    b'nt-weight: 300;\n        line-height: 1.25;\n     '
    b'   color: #525252;\n        display: table;\n     '
    b' }\n      .option .option__heading {\n        colo'
    b'r: #092e20;\n        font-size: 1.25rem;\n        '
    b'font-weight: 400;\n      }\n      @media (max-widt'
    b'h: 996px) {\n        body, footer {\n          max'
    b'-width: 780px;\n        }\n      }\n      @media (m'
    b'ax-width: 800px) {\n        footer {\n          he'
    b'ight: 100%;\n          grid-template-columns: 1fr'
    b';\n          gap: 60px;\n          position: relat'
    b'ive;\n          padding: 25px;\n        }\n        '
    b'.figure {\n          margin-top: 10px;\n        }\n'
    b'        main {\n          padding: 0 25px;\n      '
    b'  }\n        main h1 {\n          font-size: 1.25r'
    b'em;\n        }\n        footer {\n          width: '
    b'100%;\n          margin-top: 50px;\n        }\n    '
    b'  }\n      @media (min-width: 801px) and (max-hei'
    b'ght: 730px) {\n        .figure {\n          margin'
    b'-top: 80px;\n        }\n      }\n      @media (min-'
    b'width: 801px) and (max-height: 600px) {\n        '
    b'footer {\n          position: relative;\n         '
    b' margin: 135px auto 0;\n        }\n        .figure'
    b' {\n          margin-top: 50px;\n        }\n      }'
    b'\n      .sr-only {\n        clip: rect(1px, 1px, 1'
    b'px, 1px);\n        clip-path: inset(50%);\n       '
    b' height: 1px;\n        overflow: hidden;\n        '
    b'position: absolute;\n        white-space: nowrap;'
    b'\n        width: 1px;\n      }\n    </style>\n  </he'
    b'ad>\n  <body>\n    <main>\n      <svg class="figure'
    b'" viewBox="0 0 508 268" aria-hidden="true">\n    '
    b'    <path d="M305.2 156.6c0 4.6-.5 9-1.6 13.2-2.'
    b'5-4.4-5.6-8.4-9.2-12-4.6-4.6-10-8.4-16-11.2 2.8-'
    b'11.2 4.5-22.9 5-34.6 1.8 1.4 3.5 2.9 5 4.5 10.5 '
    b'10.3 16.8 24.5 16.8 40.1zm-75-10c-6 2.8-11.4 6.6'
    b'-16 11.2-3.5 3.6-6.6 7.6-9.1 12-1-4.3-1.6-8.7-1.'
    b'6-13.2 0-15.7 6.3-29.9 16.6-40.1 1.6-1.6 3.3-3.1'
    b' 5.1-4.5.6 11.8 2.2 23.4 5 34.6z" fill="#2E3B39"'
    b' fill-rule="nonzero"/>\n        <path d="M282.981'
    b' 152.6c16.125-48.1 6.375-104-29.25-142.6-35.625 '
    b'38.5-45.25 94.5-29.25 142.6h58.5z" stroke="#FFF"'
    b' stroke-width="3.396" fill="#6DDCBD"/>\n        <'
    b'path d="M271 29.7c-4.4-10.6-9.9-20.6-16.6-29.7-6'
    b'.7 9-12.2 19-16.6 29.7H271z" stroke="#FFF" strok'
    b'e-width="3" fill="#2E3B39"/>\n        <circle str'
    b'oke="#FFF" stroke-width="7" fill="none" cx="254.'
    b'3" cy="76.8" r="12.2"/>\n        <path class="smo'
    b'ke" d="M507.812 234.24c0-2.16-.632-4.32-1.58-6.2'
    b'4-3.318-6.72-11.85-11.52-21.804-11.52-1.106 0-2.'
    b'212.12-3.318.24-.474-11.52-12.956-20.76-28.282-2'
    b'0.76-3.318 0-6.636.48-9.638 1.32-4.74-6.72-14.06'
    b'2-11.28-24.806-11.28-.79 0-1.58 0-2.37.12-.79 0-'
    b'1.58-.12-2.37-.12-10.744 0-20.066 4.56-24.806 11'
    b'.28a35.326 35.326 0 00-9.638-1.32c-15.642 0-28.2'
    b'82 9.6-28.282 21.48 0 1.32.158 2.76.474 3.96a26.'
    b'09 26.09 0 00-4.424-.36c-8.058 0-15.01 3.12-19.1'
    b'18 7.8-3.476-1.68-7.742-2.76-12.324-2.76-12.008 '
    b'0-21.804 7.08-22.752 15.96h-.158c-9.322 0-17.38 '
    b'4.32-20.856 10.44-4.108-3.6-10.27-6-17.222-6h-1.'
    b'264c-6.794 0-12.956 2.28-17.222 6-3.476-6.12-11.'
    b'534-10.44-20.856-10.44h-.158c-.948-9-10.744-15.9'
    b'6-22.752-15.96-4.582 0-8.69.96-12.324 2.76-4.108'
    b'-4.68-11.06-7.8-19.118-7.8-1.422 0-3.002.12-4.42'
    b'4.36.316-1.32.474-2.64.474-3.96 0-11.88-12.64-21'
    b'.48-28.282-21.48-3.318 0-6.636.48-9.638 1.32-4.7'
    b'4-6.72-14.062-11.28-24.806-11.28-.79 0-1.58 0-2.'
    b'37.12-.79 0-1.58-.12-2.37-.12-10.744 0-20.066 4.'
    b'56-24.806 11.28a35.326 35.326 0 00-9.638-1.32c-1'
    b'5.326 0-27.808 9.24-28.282 20.76-1.106-.12-2.212'
    b'-.24-3.318-.24-9.954 0-18.486 4.8-21.804 11.52-.'
    b'948 1.92-1.58 4.08-1.58 6.24 0 4.8 2.528 9.12 6.'
    b'636 12.36-.79 1.44-1.264 3.12-1.264 4.8 0 7.2 7.'
    b'742 13.08 17.222 13.08h462.15c9.48 0 17.222-5.88'
    b' 17.222-13.08 0-1.68-.474-3.36-1.264-4.8 4.582-3'
    b'.24 7.11-7.56 7.11-12.36z" fill="#E6E9EE"/>\n    '
    b'    <path fill="#6DDCBD" d="M239 152h30v8h-30z"/'
    b'>\n        <path class="exhaust__line" fill="#E6E'
    b'9EE" d="M250 172h7v90h-7z"/>\n        <path class'
    b'="flame" d="M250.27 178.834l-5.32-8.93s-2.47-5.7'
    b' 3.458-6.118h10.26s6.232.266 3.306 6.194l-5.244 '
    b'8.93s-3.23 4.37-6.46 0v-.076z" fill="#AA2247"/>\n'
    b'      </svg>\n      <h1>The install worked succes'
    b'sfully! Congratulations!</h1>\n      <p>\n        '
    b'View <a href="https://docs.djangoproject.com/en/'
    b'5.2/releases/" target="_blank" rel="noopener">re'
    b'lease notes</a> for Django 5.2\n      </p>\n      '
    b'<p>You are seeing this page because <a href="htt'
    b'ps://docs.djangoproject.com/en/5.2/ref/settings/'
    b'#debug" target="_blank" rel="noopener">DEBUG=Tru'
    b'e</a> is in your settings file and you have not '
    b'configured any URLs.</p>\n      <a class="logo" h'
    b'ref="https://www.djangoproject.com/" target="_bl'
    b'ank" rel="noopener">Django</a>\n    </main>\n    <'
    b'footer>\n      <a class="option" href="https://do'
    b'cs.djangoproject.com/en/5.2/" target="_blank" re'
    b'l="noopener">\n        <svg viewBox="0 0 24 24" a'
    b'ria-hidden="true">\n          <path d="M9 21c0 .5'
    b'5.45 1 1 1h4c.55 0 1-.45 1-1v-1H9v1zm3-19C8.14 2'
    b' 5 5.14 5 9c0 2.38 1.19 4.47 3 5.74V17c0 .55.45 '
    b'1 1 1h6c.55 0 1-.45 1-1v-2.26c1.81-1.27 3-3.36 3'
    b'-5.74 0-3.86-3.14-7-7-7zm2.85 11.1l-.85.6V16h-4v'
    b'-2.3l-.85-.6A4.997 4.997 0 017 9c0-2.76 2.24-5 5'
    b'-5s5 2.24 5 5c0 1.63-.8 3.16-2.15 4.1z"></path>\n'
    b'        </svg>\n        <p>\n          <span class'
    b'="option__heading">Django Documentation</span><s'
    b'pan class="sr-only">.</span><br>\n          Topic'
    b's, references, &amp; how-to\xe2\x80\x99s\n        </p>\n   '
    b'   </a>\n      <a class="option" href="https://do'
    b'cs.djangoproject.com/en/5.2/intro/tutorial01/" t'
    b'arget="_blank" rel="noopener">\n        <svg view'
    b'Box="0 0 24 24" aria-hidden="true">\n          <p'
    b'ath d="M9.4 16.6L4.8 12l4.6-4.6L8 6l-6 6 6 6 1.4'
    b'-1.4zm5.2 0l4.6-4.6-4.6-4.6L16 6l6 6-6 6-1.4-1.4'
    b'z"></path>\n        </svg>\n        <p>\n          '
    b'<span class="option__heading">Tutorial: A Pollin'
    b'g App</span><span class="sr-only">.</span><br>\n '
    b'         Get started with Django\n        </p>\n  '
    b'    </a>\n      <a class="option" href="https://w'
    b'ww.djangoproject.com/community/" target="_blank"'
    b' rel="noopener">\n        <svg viewBox="0 0 24 24'
    b'" aria-hidden="true">\n          <path d="M16.5 1'
    b'3c-1.2 0-3.07.34-4.5 1-1.43-.67-3.3-1-4.5-1C5.33'
    b' 13 1 14.08 1 16.25V19h22v-2.75c0-2.17-4.33-3.25'
    b'-6.5-3.25zm-4 4.5h-10v-1.25c0-.54 2.56-1.75 5-1.'
    b'75s5 1.21 5 1.75v1.25zm9 0H14v-1.25c0-.46-.2-.86'
    b'-.52-1.22.88-.3 1.96-.53 3.02-.53 2.44 0 5 1.21 '
    b'5 1.75v1.25zM7.5 12c1.93 0 3.5-1.57 3.5-3.5S9.43'
    b' 5 7.5 5 4 6.57 4 8.5 5.57 12 7.5 12zm0-5.5c1.1 '
    b'0 2 .9 2 2s-.9 2-2 2-2-.9-2-2 .9-2 2-2zm9 5.5c1.'
    b'93 0 3.5-1.57 3.5-3.5S18.43 5 16.5 5 13 6.57 13 '
    b'8.5s1.57 3.5 3.5 3.5zm0-5.5c1.1 0 2 .9 2 2s-.9 2'
    b'-2 2-2-.9-2-2 .9-2 2-2z"></path>\n        </svg>\n'
    b'        <p>\n          <span class="option__headi'
    b'ng">Django Community</span><span class="sr-only"'
    b'>.</span><br>\n          Connect, get help, or co'
    b'ntribute\n        </p>\n      </a>\n    </footer>\n '
    b' </body>\n</html>\n'
)

# jupyter_server 2.21: GET /
JUPYTER_PAGE = (
    b'HTTP/1.1 200 OK\r\nServer: TornadoServer/6.6.1\r\nCo'
    b'ntent-Type: text/html; charset=UTF-8\r\nDate: Tue,'
    b' 01 Dec 2026 06:11:47 GMT\r\nX-Content-Type-Option'
    b's: nosniff\r\nContent-Security-Policy: frame-ances'
    b"tors 'self'; report-uri /api/security/csp-report"
    b'\r\nEtag: "d418dd6094205b2c9fd27401591c7114f2c7a28'
    b'1"\r\nContent-Length: 2784\r\nSet-Cookie: _xsrf=2|fa'
    b'f89a41|081a4543163c0a8171fa8c3b987e8514|17961055'
    b'07; Path=/\r\nConnection: close\r\n\r\n<!DOCTYPE HTML>'
    b'\n<html>\n\n<head>\n\n    <meta charset="utf-8">\n\n   '
    b' <title>Jupyter Server</title>\n    <link id="fav'
    b'icon" rel="shortcut icon" type="image/x-icon" hr'
    b'ef="/static/favicon.ico?v=50afa725b5de8b00030139'
    b'd09b38620224d4e7dba47c07ef0e86d4643f30c9bfe6bb7e'
    b'1a4a1c561aa32834480909a4b6fe7cd1e17f7159330b6b59'
    b'14bf45a880">\n    \n    <link rel="stylesheet" hre'
    b'f="/static/style/bootstrap.min.css?v=0e8a7fbd6de'
    b'23ad6b27ab95802a0a0915af6693af612bc304d83af44552'
    b'9ce5d95842309ca3405d10f538d45c8a3a261b8cff78b4bd'
    b'512dd9effb4109a71d0ab" />\n    <link rel="stylesh'
    b'eet" href="/static/style/bootstrap-theme.min.css'
    b'?v=8b2f045cb5b4d5ad346f6e816aa2566829a4f5f2783ec'
    b'31d80d46a57de8ac0c3d21fe6e53bcd8e1f38ac17fcd06d1'
    b'2088bc9b43e23b5d1da52d10c6b717b22b3" />\n    <lin'
    b'k rel="stylesheet" href="/static/style/index.css'
    b'?v=30372e3246a801d662cf9e3f9dd656fa192eebde9054a'
    b'2282449fe43919de9f0ee9b745d7eb49d3b0a5e56357912c'
    b'c7d776390eddcab9dac85b77bdb17b4bdae" />\n    <met'
    b'a http-equiv="X-UA-Compatible" content="IE=edge"'
    b' />\n    <meta name="viewport" content="width=dev'
    b'ice-width, initial-scale=1.0">\n\n    \n    \n\n    \n'
    b'    \n\n</head>\n\n<body class=""    dir="ltr">\n\n  <'
    b"noscript>\n    <div id='noscript'>\n      Jupyter "
    b'Server requires JavaScript.<br>\n      Please ena'
    b'ble it to proceed. \n    </div>\n  </noscript>\n\n  '
    b'<div id="header" role="navigation" aria-label="T'
    b'op Menu">\n    <div id="header-container" class="'
    b'container">\n      <div id="jupyter_server" class'
    b'="nav navbar-brand"><a href="/" title=\'dashboard'
    b"'>\n          <img src='/static/logo/logo.png?v=a"
    b'2a176ee3cee251ffddf5fa21fe8e43727a9e5f87a06f9c91'
    b'ad7b776d9e9d3d5e0159c16cc188a3965e00375fb4bc336c'
    b"16067c688f5040c0c2d4bfdb852a9e4' alt='Jupyter Se"
    b"rver' />\n        </a></div>\n\n      \n      \n\n    "
    b'  \n      \n\n    </div>\n    <div class="header-bar'
    b'"></div>\n\n    \n    \n  </div>\n\n  <div id="site">\n'
    b'    \n    <div id=jupyter-main-app>\n    <h1>A Jup'
    b'yter Server is running.</h1>\n    </div>\n\n  </div'
    b">\n\n  \n  \n\n  \n  \n\n  <script type='text/javascript"
    b"'>\n    function _remove_token_from_url() {\n     "
    b' if (window.location.search.length <= 1) {\n     '
    b'   return;\n      }\n      var search_parameters ='
    b" window.location.search.slice(1).split('&');\n   "
    b'   for (var i = 0; i < search_parameters.length;'
    b" i++) {\n        if (search_parameters[i].split('"
    b"=')[0] === 'token') {\n          // remote token "
    b'from search parameters\n          search_paramete'
    b"rs.splice(i, 1);\n          var new_search = '';\n"
    b'          if (search_parameters.length) {\n      '
    b"      new_search = '?' + search_parameters.join("
    b"'&');\n          }\n          var new_url = window"
    b'.location.origin +\n            window.location.p'
    b'athname +\n            new_search +\n            w'
    b'indow.location.hash;\n          window.history.re'
    b'placeState({}, "", new_url);\n          return;\n '
    b'       }\n      }\n    }\n    _remove_token_from_ur'
    b'l();\n  </script>\n</body>\n\n</html>'
)

# Next.js 14.2.35 dev server: GET / (a page that failed to build: 500)
NEXT_PAGE = (
    b'HTTP/1.1 500 Internal Server Error\r\nCache-Contro'
    b'l: no-store, must-revalidate\r\nX-Powered-By: Next'
    b'.js\r\nETag: "13btfhv8yp2vy"\r\nContent-Type: text/h'
    b'tml; charset=utf-8\r\nContent-Length: 3742\r\nVary: '
    b'Accept-Encoding\r\nDate: Tue, 01 Dec 2026 06:11:47'
    b' GMT\r\nConnection: close\r\n\r\n<!DOCTYPE html><html>'
    b'<head><style data-next-hide-fouc="true">body{dis'
    b'play:none}</style><noscript data-next-hide-fouc='
    b'"true"><style>body{display:block}</style></noscr'
    b'ipt><meta charSet="utf-8"/><meta name="viewport"'
    b' content="width=device-width"/><meta name="next-'
    b'head-count" content="2"/><noscript data-n-css=""'
    b'></noscript><script defer="" nomodule="" src="/_'
    b'next/static/chunks/polyfills.js"></script><scrip'
    b't src="/_next/static/chunks/fallback/webpack.js"'
    b' defer=""></script><script src="/_next/static/ch'
    b'unks/fallback/main.js" defer=""></script><script'
    b' src="/_next/static/chunks/fallback/pages/_app.j'
    b's" defer=""></script><script src="/_next/static/'
    b'chunks/fallback/pages/_error.js" defer=""></scri'
    b'pt><noscript id="__next_css__DO_NOT_USE__"></nos'
    b'cript></head><body><div id="__next"></div><scrip'
    b't src="/_next/static/chunks/fallback/react-refre'
    b'sh.js"></script><script id="__NEXT_DATA__" type='
    b'"application/json">{"props":{"pageProps":{"statu'
    b'sCode":500}},"page":"/_error","query":{},"buildI'
    b'd":"development","isFallback":false,"err":{"name'
    b'":"ModuleParseError","source":"server","message"'
    b':"Module parse failed: \'import\' and \'export\' may'
    b" appear only with 'sourceType: module' (1:0)\\nFi"
    b'le was processed with these loaders:\\n * ../node'
    b'_modules/next/dist/compiled/@next/react-refresh-'
    b'utils/dist/loader.js\\n * ../node_modules/next/di'
    b'st/build/webpack/loaders/next-swc-loader.js\\nYou'
    b' may need an additional loader to handle the res'
    b'ult of these loaders.\\n\\u003e import { jsxDEV as'
    b' _jsxDEV } from \\"react/jsx-dev-runtime\\";\\n| ex'
    b'port default function Home() {\\n|     return /*#'
    b'__PURE__*/ _jsxDEV(\\"h1\\", {","stack":"ModulePar'
    b"seError: Module parse failed: 'import' and 'expo"
    b"rt' may appear only with 'sourceType: module' (1"
    b':0)\\nFile was processed with these loaders:\\n * '
    b'../node_modules/next/dist/compiled/@next/react-r'
    b'efresh-utils/dist/loader.js\\n * ../node_modules/'
    b'next/dist/build/webpack/loaders/next-swc-loader.'
    b'js\\nYou may need an additional loader to handle '
    b'the result of these loaders.\\n\\u003e import { js'
    b'xDEV as _jsxDEV } from \\"react/jsx-dev-runtime\\"'
    b';\\n| export default function Home() {\\n|     ret'
    b'urn /*#__PURE__*/ _jsxDEV(\\"h1\\", {\\n    at hand'
    b'leParseError (/tmp/p14lab/web/node_modules/next/'
    b'dist/compiled/webpack/bundle5.js:28:403799)\\n   '
    b' at /tmp/p14lab/web/node_modules/next/dist/compi'
    b'led/webpack/bundle5.js:28:405546\\n    at process'
    b'Result (/tmp/p14lab/web/node_modules/next/dist/c'
    b'ompiled/webpack/bundle5.js:28:401241)\\n    at /t'
    b'mp/p14lab/web/node_modules/next/dist/compiled/we'
    b'bpack/bundle5.js:28:402302\\n    at /tmp/p14lab/w'
    b'eb/node_modules/next/dist/compiled/loader-runner'
    b'/LoaderRunner.js:1:8727\\n    at iterateNormalLoa'
    b'ders (/tmp/p14lab/web/node_modules/next/dist/com'
    b'piled/loader-runner/LoaderRunner.js:1:5565)\\n   '
    b' at iterateNormalLoaders (/tmp/p14lab/web/node_m'
    b'odules/next/dist/compiled/loader-runner/LoaderRu'
    b'nner.js:1:5650)\\n    at /tmp/p14lab/web/node_mod'
    b'ules/next/dist/compiled/loader-runner/LoaderRunn'
    b'er.js:1:5879\\n    at r.callback (/tmp/p14lab/web'
    b'/node_modules/next/dist/compiled/loader-runner/L'
    b'oaderRunner.js:1:4039)\\n    at Object.ReactRefre'
    b'shLoader (/tmp/p14lab/web/node_modules/next/dist'
    b'/compiled/@next/react-refresh-utils/dist/loader.'
    b'js:14:10)\\n    at LOADER_EXECUTION (/tmp/p14lab/'
    b'web/node_modules/next/dist/compiled/loader-runne'
    b'r/LoaderRunner.js:1:4134)\\n    at runSyncOrAsync'
    b' (/tmp/p14lab/web/node_modules/next/dist/compile'
    b'd/loader-runner/LoaderRunner.js:1:4145)\\n    at '
    b'iterateNormalLoaders (/tmp/p14lab/web/node_modul'
    b'es/next/dist/compiled/loader-runner/LoaderRunner'
    b'.js:1:5782)\\n    at /tmp/p14lab/web/node_modules'
    b'/next/dist/compiled/loader-runner/LoaderRunner.j'
    b's:1:5142\\n    at r.callback (/tmp/p14lab/web/nod'
    b'e_modules/next/dist/compiled/loader-runner/Loade'
    b'rRunner.js:1:4039)"},"gip":true,"scriptLoader":['
    b']}</script></body></html>'
)

# webpack-dev-server 5.2.7: GET /
WEBPACK_PAGE = (
    b'HTTP/1.1 200 OK\r\nX-Powered-By: Express\r\nCross-Or'
    b'igin-Resource-Policy: same-origin\r\nAccept-Ranges'
    b': bytes\r\nContent-Type: text/html; charset=utf-8\r'
    b'\nContent-Length: 231\r\nVary: Accept-Encoding\r\nDat'
    b'e: Tue, 01 Dec 2026 06:11:47 GMT\r\nConnection: cl'
    b'ose\r\n\r\n<!DOCTYPE html>\n<html>\n  <head>\n    <meta'
    b' charset="utf-8">\n    <title>Webpack App</title>'
    b'\n  <meta name="viewport" content="width=device-w'
    b'idth, initial-scale=1"><script defer src="main.j'
    b's"></script></head>\n  <body>\n  </body>\n</html>'
)

# nginx 1.22.1 'listen ... ssl': answer to the probe's GET
NGINX_TLS_ON_GET = (
    b'HTTP/1.1 400 Bad Request\r\nServer: nginx/1.22.1\r\n'
    b'Date: Tue, 01 Dec 2026 06:11:47 GMT\r\nContent-Typ'
    b'e: text/html\r\nContent-Length: 255\r\nConnection: c'
    b'lose\r\n\r\n<html>\r\n<head><title>400 The plain HTTP '
    b'request was sent to HTTPS port</title></head>\r\n<'
    b'body>\r\n<center><h1>400 Bad Request</h1></center>'
    b'\r\n<center>The plain HTTP request was sent to HTT'
    b'PS port</center>\r\n<hr><center>nginx/1.22.1</cent'
    b'er>\r\n</body>\r\n</html>\r\n'
)

# webpack-dev-server 5.2.7: GET /webpack-dev-server
WEBPACK_ASSETS = (
    b'HTTP/1.1 200 OK\r\nX-Powered-By: Express\r\nCross-Or'
    b'igin-Resource-Policy: same-origin\r\nContent-Type:'
    b' text/html; charset=utf-8\r\nVary: Accept-Encoding'
    b'\r\nDate: Tue, 01 Dec 2026 06:12:13 GMT\r\nConnectio'
    b'n: close\r\nTransfer-Encoding: chunked\r\n\r\n3f\r\n<!DO'
    b'CTYPE html><html><head><meta charset="utf-8"/></'
    b'head><body>\r\n17\r\n<h1>Assets Report:</h1>\r\n5\r\n<di'
    b'v>\r\n1d\r\n<h2>Compilation: unnamed</h2>\r\n4\r\n<ul>\r\n'
    b'63\r\n<li>\n              <strong><a href="main.js"'
    b' target="_blank">main.js</a></strong>\n          '
    b'  </li>\r\n69\r\n<li>\n              <strong><a href='
    b'"index.html" target="_blank">index.html</a></str'
    b'ong>\n            </li>\r\n5\r\n</ul>\r\n6\r\n</div>\r\ne\r\n'
    b'</body></html>\r\n0\r\n\r\n'
)

# Built: an ApiVersions v0 answer (correlation id "port") with the ranges Confluent Platform 7.4
# (Apache Kafka 3.4) reports for API keys 0-9 (Produce ... OffsetFetch) and 18 (ApiVersions 0-3).
KAFKA_API_VERSIONS = struct.pack("!iihi", 4 + 2 + 4 + 6 * 11, 0x706F7274, 0, 11) + b"".join(
    struct.pack("!hhh", key, 0, high)
    for key, high in ((0, 9), (1, 13), (2, 7), (3, 12), (4, 7), (5, 4), (6, 8), (7, 3), (8, 8), (9, 8), (18, 3))
)
# Built: a broker's UNSUPPORTED_VERSION (35) answer, with the one range it names (ApiVersions 0-3).
KAFKA_UNSUPPORTED = struct.pack("!iihi", 4 + 2 + 4 + 6, 0x706F7274, 35, 1) + struct.pack("!hhh", 18, 0, 3)

# Built: Rails 7's development answer to GET /, with its default security headers, Rack's
# X-Request-Id and X-Runtime, and Puma writing no Server header.
RAILS_PAGE = (
    b"HTTP/1.1 200 OK\r\nx-frame-options: SAMEORIGIN\r\nx-xss-protection: 0\r\n"
    b"x-content-type-options: nosniff\r\nx-permitted-cross-domain-policies: none\r\n"
    b"referrer-policy: strict-origin-when-cross-origin\r\ncontent-type: text/html; charset=utf-8\r\n"
    b"vary: Accept\r\ncache-control: no-store, must-revalidate, private, max-age=0\r\n"
    b"x-request-id: 6f1c2d0e-3b7a-4a52-9d8e-1f2a3b4c5d6e\r\nx-runtime: 0.031412\r\n"
    b"server-timing: start_processing.action_controller;dur=0.12\r\ncontent-length: 11\r\n\r\nHello Rails"
)
