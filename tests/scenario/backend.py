"""A backend for the proxy tests: echo, chunked and streamed (SSE) responses, and a WebSocket echo.

Usage: python backend.py PORT (binds 127.0.0.1; PORT may come from `portside run` as {port}).
GET/POST /echo -> JSON of method, path, headers and body length; /chunked -> 5 chunks;
/sse -> 3 events 0.2 s apart; /bytes/N -> N bytes (0, 1, ... 255 repeated);
/ws -> WebSocket echo (RFC 6455, text and binary frames);
/ -> a small HTML page.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import struct
import sys

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
PATTERN = bytes(range(256))
PAGE = b"<!doctype html><title>backend</title><h1 id=hello>hello from the backend</h1>"


async def read_head(reader: asyncio.StreamReader) -> tuple[str, str, dict[str, str]] | None:
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    lines = raw.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            key, value = line.split(":", 1)
            headers[key.strip().lower()] = value.strip()
    return method, path, headers


async def read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            body += await reader.readexactly(size + 2)
            body = body[:-2]
            if size == 0:
                return body
    return await reader.readexactly(int(headers.get("content-length", "0")))


def respond(status: str, body: bytes, kind: str = "text/plain") -> bytes:
    return (f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


async def websocket(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, key: str) -> None:
    accept = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
    writer.write(f"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 f"Sec-WebSocket-Accept: {accept}\r\n\r\n".encode())
    while True:
        try:
            first, second = await reader.readexactly(2)
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        opcode, length = first & 0x0F, second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", await reader.readexactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", await reader.readexactly(8))
        mask = await reader.readexactly(4) if second & 0x80 else b"\0\0\0\0"
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(await reader.readexactly(length)))
        if opcode == 0x8:
            writer.write(b"\x88\x00")
            await writer.drain()
            return
        if opcode == 0x9:
            opcode = 0xA
        size = bytes([length]) if length < 126 else (b"\x7e" + struct.pack("!H", length) if length < 65536
                                                     else b"\x7f" + struct.pack("!Q", length))
        writer.write(bytes([0x80 | opcode]) + size + payload)
        await writer.drain()


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while (head := await read_head(reader)) is not None:
            method, path, headers = head
            if path == "/ws" and headers.get("upgrade", "").lower() == "websocket":
                await websocket(reader, writer, headers["sec-websocket-key"])
                return
            body = await read_body(reader, headers)
            if path.startswith("/echo"):
                data = json.dumps({"method": method, "path": path, "headers": headers, "body_length": len(body),
                                   "body_sha256": hashlib.sha256(body).hexdigest()}).encode()
                writer.write(respond("200 OK", data, "application/json"))
            elif path == "/chunked":
                writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                for index in range(5):
                    piece = f"piece {index}\n".encode()
                    writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                writer.write(b"0\r\n\r\n")
            elif path == "/sse":
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                             b"Transfer-Encoding: chunked\r\n\r\n")
                for index in range(3):
                    event = f"data: event {index}\n\n".encode()
                    writer.write(b"%x\r\n%s\r\n" % (len(event), event))
                    await writer.drain()
                    await asyncio.sleep(0.2)
                writer.write(b"0\r\n\r\n")
            elif path.startswith("/bytes/"):
                size = int(path.removeprefix("/bytes/"))
                writer.write(respond("200 OK", (PATTERN * (size // len(PATTERN) + 1))[:size], "application/octet-stream"))
            elif path == "/":
                writer.write(respond("200 OK", PAGE, "text/html"))
            else:
                writer.write(respond("404 Not Found", b"no such page\n"))
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def main(port: int) -> None:
    server = await asyncio.start_server(handle, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
