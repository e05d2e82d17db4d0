#!/usr/bin/env python3
"""Remote4D open-connection hook: a one-time code, as in 4D's On Server Open Connection example.

First call (no answer): make a 6-digit code, "send" it (here: write it to OUTBOX/<user>.txt;
replace `send` with your e-mail or SMS gateway), and ask the client for it. The server passes
back the `state` returned here together with the user's answer on the second call, which is
accepted when the code matches and has not expired (5 minutes).

Configure in the server's TOML:
    [hooks]
    open_connection = ["/usr/share/remote4d/hooks/otp-challenge.py", "--outbox", "/var/lib/remote4d/otp"]
"""
import hashlib
import json
import os
import secrets
import sys
import time

LIFETIME = 300


def send(outbox, user, code):
    os.makedirs(outbox, exist_ok=True)
    path = os.path.join(outbox, f"{user}.txt")
    with open(path, "w") as f:
        f.write(code + "\n")


def digest(code, salt):
    return hashlib.sha256((salt + code).encode()).hexdigest()


def main():
    outbox = "/tmp/remote4d-otp"
    if "--outbox" in sys.argv:
        outbox = sys.argv[sys.argv.index("--outbox") + 1]
    request = json.load(sys.stdin)
    user = request["session"]["userName"]
    answer = request.get("answer")
    if answer is None:
        code = f"{secrets.randbelow(1_000_000):06d}"
        salt = secrets.token_hex(8)
        send(outbox, user, code)
        print(json.dumps({
            "challenge": "Enter the 6-digit code sent to your phone",
            "state": {"salt": salt, "digest": digest(code, salt), "expires": time.time() + LIFETIME},
        }))
        return 0
    state = request.get("state") or {}
    if time.time() > state.get("expires", 0):
        print("The code has expired; connect again to receive a new one.")
        return 1
    if not secrets.compare_digest(digest(answer.strip(), state.get("salt", "")), state.get("digest", "")):
        print("Wrong code; connect again to receive a new one.")
        return 1
    print(json.dumps({"storage": {"verified_by": "one-time code", "verified_at": time.time()}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
