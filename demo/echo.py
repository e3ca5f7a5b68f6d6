#!/usr/bin/env python3
"""Echo upstream for the demo and the end-to-end tests.

Answers every request with a JSON object: the method, the path exactly as received, and every
header in the order received (repeated headers appear repeatedly), so a user can see
`x-arr-clientcert` arrive and a test can prove that no forged copy did.

Usage: echo.py [--host 127.0.0.1] [--port 8081]
"""
import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self):
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        # JSON with one header per line, readable in a terminal.
        headers = ",\n    ".join(json.dumps([k.lower(), v]) for k, v in self.headers.items())
        body = (
            '{\n  "method": %s,\n  "path": %s,\n  "headers": [\n    %s\n  ]\n}\n'
            % (json.dumps(self.command), json.dumps(self.path), headers)
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        # A reply to HEAD has the headers of the GET reply and no body (RFC 9110 9.3.2): a
        # body here would be read as the start of the next reply on a reused connection.
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _answer

    def log_message(self, fmt, *args):  # keep the demo terminal for Envoy's log
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    args = parser.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), Echo)
    server.daemon_threads = True
    # With --port 0 the system picks a free port; the first line printed names it (tests read it).
    port = server.server_address[1]
    print(f"echo upstream listening on http://{args.host}:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
