"""Starts moto's server mode on loopback for the deploy-loop test (test/tests/deploy_loop.rs).

Before serving, it installs `tracker_moto/gaps.py`, which fills the CloudFormation gaps of moto 5.2.5 that the
tracker stacks hit (each gap named there). It binds a free port itself (port 0), so there is no
race between choosing a port and using it, and prints one JSON line `{"port": N}` on stdout when
it accepts connections. It stops when its stdin closes (the test that started it is gone), after
`--max-seconds`, or when it is killed; the test also kills its whole process group.

Usage: python launch.py [--max-seconds N] [--certificate ARN]...
"""

import argparse
import json
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from tracker_moto import gaps  # noqa: E402  (the missing models and the bug patches)
from moto.moto_server.werkzeug_app import (  # noqa: E402
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-seconds", type=float, default=900.0)
    parser.add_argument(
        "--certificate",
        action="append",
        default=[],
        help="an ACM certificate ARN the stacks reference; seeded into moto's ACM (repeatable)",
    )
    args = parser.parse_args()

    gaps.install()
    for arn in args.certificate:
        gaps.seed_certificate(arn)
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler)
    port = server.server_address[1]

    def watch_stdin() -> None:
        # EOF on stdin: whoever started us is gone.
        sys.stdin.read()
        os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    # A hard upper bound on the lifetime, whatever happens to the parent.
    timer = threading.Timer(args.max_seconds, lambda: os._exit(3))
    timer.daemon = True
    timer.start()

    print(json.dumps({"port": port, "pid": os.getpid()}), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
