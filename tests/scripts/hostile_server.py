#!/usr/bin/env python3
"""A hostile "Remote4D server" for the fault tests of the client: it speaks the protocol well
enough to be trusted on first use, then lies in the way MODE says.

usage: hostile_server.py CERT KEY PORT MODE DIR
DIR holds info.json, opened.json, archive.4dz (the real build the info announces),
other.4dz (another build), offer.json and update.bin (a client update offer).
MODE: honest, huge-info, huge-error, lying-size, wrong-stamp, wrong-range, endless-events,
unsigned-update. Uses only the standard library.
"""
import http.server
import json
import os
import ssl
import sys
import threading
import time

CERT, KEY, PORT, MODE, DIR = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
state = {"archive_requests": 0}
lock = threading.Lock()


def read(name):
    with open(os.path.join(DIR, name), "rb") as f:
        return f.read()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args):
        sys.stderr.write("hostile: " + (fmt % args) + "\n")

    def send(self, status, body, content_type="application/json", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def endless(self, status, first=b"", filler=b" " * 65536, content_type="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.end_headers()
        try:
            self.wfile.write(first)
            while True:
                self.wfile.write(filler)
        except OSError:
            pass

    def do_GET(self):
        path = self.path.split("?")[0]
        if path == "/api/v1/info":
            if MODE == "huge-info":
                return self.endless(200, b'{"product": "remote4d", "padding": "')
            return self.send(200, read("info.json"))
        if path == "/api/v1/project/archive":
            return self.archive()
        if path.endswith("/events"):
            if MODE == "endless-events":
                beat = b"event: heartbeat\ndata: {\"type\":\"heartbeat\"}\n\n"
                return self.endless(200, beat * 100 + b"data: " , b"x" * 65536, "text/event-stream")
            return self.endless(200, b"", b"event: heartbeat\ndata: {\"type\":\"heartbeat\"}\n\n", "text/event-stream")
        if path == "/api/v1/client/update":
            return self.send(200, read("offer.json"))
        if path == "/api/v1/client/update/binary":
            return self.send(200, read("update.bin"), "application/octet-stream")
        return self.send(404, b'{"error":{"code":"not_found","message":"no such path"}}')

    def archive(self):
        data = read("archive.4dz")
        with lock:
            state["archive_requests"] += 1
            n = state["archive_requests"]
        if MODE == "lying-size":
            # The announced size is the real one; this sends it, then more, for ever.
            return self.endless(200, data, os.urandom(65536), "application/zip")
        if MODE == "wrong-stamp":
            # The announced size, other bytes.
            bad = bytearray(data)
            for i in range(len(bad) // 2, len(bad) // 2 + 64):
                bad[i] ^= 0xA5
            return self.send(200, bytes(bad), "application/zip")
        if MODE == "wrong-range":
            rng = self.headers.get("Range")
            if n == 1:
                # Half, then the connection ends: the client resumes with a Range.
                self.send_response(200)
                self.send_header("Content-Type", "application/zip")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            if rng:
                # Asked for the rest: answers another range (from 0) with the whole file.
                return self.send(206, data, "application/zip",
                                 [("Content-Range", f"bytes 0-{len(data) - 1}/{len(data)}")])
        return self.send(200, data, "application/zip")

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(min(length, 1 << 20))
        if self.path.startswith("/api/v1/sessions"):
            if MODE == "huge-error":
                return self.endless(500, b'{"error": {"code": "internal", "message": "')
            if MODE == "unsigned-update":
                body = json.dumps({"error": {"code": "client_version",
                                             "message": "this server accepts Remote4D clients 99.0 to any",
                                             "update_token": "t0k3n"}}).encode()
                return self.send(426, body)
            return self.send(201, read("opened.json"))
        return self.send(404, b'{"error":{"code":"not_found","message":"no such path"}}')

    def do_DELETE(self):
        self.send_response(204)
        self.end_headers()


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


server = Server(("0.0.0.0", PORT), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(CERT, KEY)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
print("listening", flush=True)
server.serve_forever()
