"""gRPC over TLS on loopback, always in a process of its own.

    python grpc_echo.py serve CHAIN_PEM KEY_PEM    # prints its port, serves until stdin closes
    python grpc_echo.py call PORT [ROOTS_PEM]      # prints the echo, or "refused CODE"

gRPC never runs inside the test process: it starts poller threads and registers ``fork``
handlers, and those handlers run in every child that process forks afterwards. Python 3.9's
``subprocess`` forks (3.10 and later use ``vfork``, which skips them), and there a handler aborted
an ``openssl verify`` child before it could ``exec`` ("epoll_wait error: Bad file descriptor"),
failing a test that has nothing to do with gRPC.
"""

from __future__ import annotations

import sys
from concurrent import futures
from pathlib import Path

import grpc


def serve(chain_pem: str, key_pem: str) -> None:
    credentials = grpc.ssl_server_credentials(
        [(Path(key_pem).read_bytes(), Path(chain_pem).read_bytes())]
    )
    handler = grpc.method_handlers_generic_handler(
        "test.Echo", {"Echo": grpc.unary_unary_rpc_method_handler(lambda request, _: request)}
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2), handlers=[handler])
    port = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    print(port, flush=True)
    sys.stdin.read()  # the test closes it (or dies): then stop
    server.stop(None)


def call(port: str, roots_pem: str | None) -> None:
    roots = Path(roots_pem).read_bytes() if roots_pem else None
    credentials = grpc.ssl_channel_credentials(root_certificates=roots)
    options = (("grpc.ssl_target_name_override", "localhost"),)
    with grpc.secure_channel(f"127.0.0.1:{port}", credentials, options=options) as channel:
        try:
            reply = channel.unary_unary("/test.Echo/Echo")(b"ping", timeout=10)
        except grpc.RpcError as error:
            print("refused", error.code().name)  # type: ignore[attr-defined]
        else:
            print(reply.decode())


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], sys.argv[3])
    else:
        call(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
