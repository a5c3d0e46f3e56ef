"""A gRPC server on 127.0.0.1 for the probe's tests: grpcio, with the standard health service when asked.

Usage: python grpcserver.py PORT [--health]
Serves until signalled; with --health the server as a whole reports SERVING.
"""

from __future__ import annotations

import sys
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2_grpc


def main() -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    if "--health" in sys.argv[2:]:
        health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), server)
    server.add_insecure_port(f"127.0.0.1:{int(sys.argv[1])}")
    server.start()
    server.wait_for_termination()


if __name__ == "__main__":
    main()
