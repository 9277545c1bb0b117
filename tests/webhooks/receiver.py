"""A webhook receiver for the tests: a real HTTP server that checks each message's signature with
the Standard Webhooks reference library for Python (an implementation independent of samavvik's).

What it answers depends on the path the endpoint was registered with:
  /ok                 200
  /fail/N             500 to the first N attempts of each message, then 200
  /retry-after/S      503 with Retry-After: S to the first attempt of each message, then 200
  /gone               410
  /redirect           302 to /ok (which a sender must not follow)
  /slow/S             answers 200 after S seconds (past the sender's timeout)
  /hang-once          holds the first request open without answering; later ones get 200
  /close              closes the connection without an answer
Secrets: PUT /_secrets/<name> with a JSON list; a message to /<name>/... is verified with each.
For every message it prints one JSON line: path, the headers, the body, which secrets verified it.
"""

import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

SECRETS = {}
SEEN = {}
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def body(self):
        return self.rfile.read(int(self.headers.get("content-length", "0")))

    def answer(self, status, headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("content-length", "0")
        self.end_headers()

    def do_PUT(self):
        name = self.path.split("/")[-1]
        SECRETS[name] = json.loads(self.body())
        self.answer(204)

    def do_POST(self):
        data = self.body()
        parts = [p for p in self.path.split("/") if p]
        name, behaviour = parts[0], parts[1:]
        headers = {k.lower(): v for k, v in self.headers.items()}
        verified = []
        for i, secret in enumerate(SECRETS.get(name, [])):
            try:
                Webhook(secret).verify(data, headers)
                verified.append(i)
            except WebhookVerificationError:
                pass
        msg_id = headers.get("webhook-id", "")
        with LOCK:
            SEEN[(self.path, msg_id)] = SEEN.get((self.path, msg_id), 0) + 1
            attempt = SEEN[(self.path, msg_id)]
            hang = behaviour == ["hang-once"] and sum(n for (p, _), n in SEEN.items() if p == self.path) == 1
        line = json.dumps({
            "path": self.path,
            "id": msg_id,
            "timestamp": headers.get("webhook-timestamp"),
            "signature": headers.get("webhook-signature"),
            "content_type": headers.get("content-type"),
            "body": data.decode(),
            "verified": verified,
            "attempt": attempt,
        })
        # One write per line under the lock: concurrent requests' lines must not interleave.
        with LOCK:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        kind = behaviour[0] if behaviour else "ok"
        if kind == "ok":
            self.answer(200)
        elif kind == "fail":
            self.answer(500 if attempt <= int(behaviour[1]) else 200)
        elif kind == "retry-after":
            self.answer(503, [("retry-after", behaviour[1])]) if attempt == 1 else self.answer(200)
        elif kind == "gone":
            self.answer(410)
        elif kind == "redirect":
            self.answer(302, [("location", f"/{name}/ok")])
        elif kind == "slow":
            time.sleep(float(behaviour[1]))
            self.answer(200)
        elif kind == "hang-once":
            if hang:
                time.sleep(3600)
            self.answer(200)
        elif kind == "close":
            self.close_connection = True
            self.connection.shutdown(2)
        else:
            self.answer(404)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(f"ready {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
