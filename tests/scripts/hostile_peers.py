#!/usr/bin/env python3
"""Hostile peers against a Remote4D server, for the fault tests: junk bytes, half-open TLS
handshakes, slow-loris requests and oversized bodies, all at once, for a while.

usage: hostile_peers.py HOST PORT SECONDS [idle N]
Prints one line of counts at the end. With "idle N": only opens N TCP connections that send
nothing, holds them SECONDS, and counts those the server closed. Never fails because the server refused something: that
is the point. Uses only the standard library.
"""
import os
import socket
import ssl
import sys
import threading
import time

HOST, PORT, SECONDS = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
END = time.time() + SECONDS

if len(sys.argv) > 5 and sys.argv[4] == "idle":
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    conns = []
    for _ in range(int(sys.argv[5])):
        try:
            conns.append(socket.create_connection((HOST, PORT), timeout=5))
        except OSError:
            break
    print(f"opened={len(conns)}", flush=True)
    time.sleep(SECONDS)
    closed = 0
    for c in conns:
        c.setblocking(False)
        try:
            if c.recv(1) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
    print(f"opened={len(conns)} closed_by_server={closed}", flush=True)
    sys.exit(0)
counts = {"junk": 0, "half_open": 0, "slow_loris": 0, "oversized": 0}
lock = threading.Lock()
held = []


def count(kind):
    with lock:
        counts[kind] += 1


def tls():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection((HOST, PORT), timeout=10)
    return ctx.wrap_socket(raw, server_hostname="remote4d")


def junk():
    while time.time() < END:
        try:
            s = socket.create_connection((HOST, PORT), timeout=5)
            s.sendall(os.urandom(4096))
            s.settimeout(1)
            try:
                s.recv(100)
            except OSError:
                pass
            s.close()
            count("junk")
        except OSError:
            time.sleep(0.05)


def half_open():
    # A TLS record header announcing a ClientHello, then nothing: the handshake never ends.
    while time.time() < END:
        try:
            s = socket.create_connection((HOST, PORT), timeout=5)
            s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
            held.append(s)
            count("half_open")
            time.sleep(0.05)
        except OSError:
            time.sleep(0.1)


def slow_loris():
    while time.time() < END:
        try:
            s = tls()
            count("slow_loris")
            for ch in b"GET /api/v1/info HTTP/1.1\r\nHost: x\r\nX-Slow: ":
                if time.time() >= END:
                    break
                s.sendall(bytes([ch]))
                time.sleep(0.5)
            held.append(s)
        except (OSError, ssl.SSLError):
            time.sleep(0.1)


def oversized():
    while time.time() < END:
        try:
            s = tls()
            s.sendall(
                b"POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 1000000000\r\n\r\n"
            )
            chunk = b"[" * 65536
            sent = 0
            while time.time() < END and sent < 200_000_000:
                s.sendall(chunk)
                sent += len(chunk)
            count("oversized")
            s.close()
        except (OSError, ssl.SSLError):
            count("oversized")
            time.sleep(0.05)


threads = [threading.Thread(target=f, daemon=True) for f in (junk, half_open, slow_loris, slow_loris, oversized)]
for t in threads:
    t.start()
for t in threads:
    t.join(SECONDS + 15)
print(" ".join(f"{k}={v}" for k, v in counts.items()), flush=True)
