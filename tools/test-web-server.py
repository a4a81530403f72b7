#!/usr/bin/env python3
"""test-web-server.py - a loopback web server for hlsd's tests: inputs to
fetch and a webhook receiver (tests/fix_web.c starts it).

  GET  /files/NAME     NAME from --dir (Content-Length), Range not supported
  GET  /chunked/NAME   NAME from --dir without Content-Length (chunked)
  GET  /redirect/N/NAME  N redirects (302), then /files/NAME
  GET  /status/CODE    answers CODE with a short body
  GET  /stall          announces 1 MB, sends 1 KB, then sends nothing more
  GET  /flaky/K/NAME   answers 503 the first K times, then /files/NAME
  GET  /slow/NAME      NAME at about 20 KB/s (Content-Length announced)
  POST /hook           a webhook: the body's HMAC-SHA256 under --secret must
                       be in X-Hlsd-Signature (sha256=HEX); each delivery is
                       appended to --log as one JSON line {"ok": bool,
                       "job": ..., "state": ..., "body": ...}; answers 204
                       (403 when the signature is wrong)
  POST /hook-fail      answers 500 (a receiver that is broken)
  GET  /requests       how many requests each path got (JSON)

It binds 127.0.0.1 on --port (0: any free port) and writes the port into
--port-file once it listens; with --cert and --key it speaks HTTPS.
"""

import argparse
import hashlib
import hmac
import json
import os
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None
LOCK = threading.Lock()
COUNTS = {}


def count(path):
    with LOCK:
        COUNTS[path] = COUNTS.get(path, 0) + 1
        return COUNTS[path]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def answer(self, code, body=b"", ctype="text/plain"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def send_file(self, name, chunked=False):
        path = os.path.join(ARGS.dir, os.path.basename(name))
        if not os.path.isfile(path):
            self.answer(404, b"no such file\n")
            return
        with open(path, "rb") as f:
            data = f.read()
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(data), 16384):
                part = data[i:i + 16384]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    def do_GET(self):
        p = self.path.split("?", 1)[0]
        n = count(p)
        parts = p.strip("/").split("/")
        if parts[0] == "files" and len(parts) == 2:
            self.send_file(parts[1])
        elif parts[0] == "chunked" and len(parts) == 2:
            self.send_file(parts[1], chunked=True)
        elif parts[0] == "redirect" and len(parts) == 3:
            left = int(parts[1])
            self.send_response(302)
            self.send_header("Location", "/files/%s" % parts[2] if left <= 1
                             else "/redirect/%d/%s" % (left - 1, parts[2]))
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif parts[0] == "status" and len(parts) == 2:
            self.answer(int(parts[1]), b"status %s\n" % parts[1].encode())
        elif parts[0] == "stall":
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Content-Length", str(1 << 20))
            self.end_headers()
            self.wfile.write(b"\0" * 1024)
            self.wfile.flush()
            time.sleep(60)
        elif parts[0] == "slow" and len(parts) == 2:
            path = os.path.join(ARGS.dir, os.path.basename(parts[1]))
            with open(path, "rb") as f:
                data = f.read()
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            for i in range(0, len(data), 2048):
                self.wfile.write(data[i:i + 2048])
                self.wfile.flush()
                time.sleep(0.1)
        elif parts[0] == "flaky" and len(parts) == 3:
            if n <= int(parts[1]):
                self.answer(503, b"try later\n")
            else:
                self.send_file(parts[2])
        elif parts[0] == "requests":
            with LOCK:
                body = json.dumps(COUNTS).encode()
            self.answer(200, body, "application/json")
        else:
            self.answer(404, b"unknown path\n")

    def do_POST(self):
        p = self.path.split("?", 1)[0]
        count(p)
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if p == "/hook-fail":
            self.answer(500, b"broken\n")
            return
        if p != "/hook":
            self.answer(404, b"unknown path\n")
            return
        want = "sha256=" + hmac.new(ARGS.secret.encode(), body, hashlib.sha256).hexdigest()
        got = self.headers.get("X-Hlsd-Signature", "")
        ok = hmac.compare_digest(want, got)
        try:
            job = json.loads(body)
        except ValueError:
            job = {}
        rec = {"ok": ok, "job": job.get("id"), "state": job.get("state"),
               "header_job": self.headers.get("X-Hlsd-Job"), "body": job}
        with LOCK:
            with open(ARGS.log, "a") as f:
                f.write(json.dumps(rec) + "\n")
        self.answer(204 if ok else 403)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that gave up (a timeout, a size limit) is expected


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--dir", default=".")
    ap.add_argument("--secret", default="")
    ap.add_argument("--log", default="/dev/null")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ARGS = ap.parse_args()
    srv = Server(("127.0.0.1", ARGS.port), Handler)
    if ARGS.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(ARGS.cert, ARGS.key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    tmp = ARGS.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, ARGS.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
