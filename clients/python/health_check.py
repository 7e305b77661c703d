#!/usr/bin/env python3
"""Asks a FedAttention coordinator whether it serves, with the standard gRPC health checking
protocol (grpc.health.v1), written from its specification alone,
https://github.com/grpc/grpc/blob/master/doc/health-checking.md: no .proto and no generated
stubs, the two messages encoded by hand, so that it checks the coordinator against the
specification rather than against the coordinator's own protocol/health.proto. Needs python3
with grpcio.

    python3 clients/python/health_check.py --target fed.example.org:7443 \
        --cert probe/cert.pem --key probe/key.pem --ca probe/ca.pem \
        [--service fedattn.v1.Federation] [--server-name fed.example.org]

The port is mutual TLS: the certificate is one the federation's CA signed for client
authentication (a silo's, or one issued for probes; docs/operations.md, "Health checking").
Prints one line per --service (default: "", the whole server): the name, quoted, then
SERVING, NOT_SERVING, UNKNOWN or SERVICE_UNKNOWN, or the gRPC status of a failed call and its
message (NOT_FOUND for a service the coordinator does not know). Exits 0 when every answer
is SERVING, 2 when the coordinator could not be asked (UNAVAILABLE: not running, refused
the TLS handshake; DEADLINE_EXCEEDED), 1 otherwise.
"""

import argparse
import json
import sys

import grpc

# The method's full path: /package.Service/Method.
CHECK = "/grpc.health.v1.Health/Check"
# HealthCheckResponse.ServingStatus, by number.
STATUSES = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}


def varint(n):
    """A non-negative integer as protobuf's base-128 varint: 7 bits a byte, low first."""
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def encode_request(service):
    """HealthCheckRequest { string service = 1; }: the key 0x0a (field 1, wire type 2, length
    delimited), the length, the UTF-8 bytes; an empty string (proto3's default) is left out."""
    data = service.encode("utf-8")
    return b"\x0a" + varint(len(data)) + data if data else b""


def read_varint(data, i):
    value, shift = 0, 0
    while True:
        if i >= len(data):
            raise ValueError("truncated varint")
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, i


def decode_response(data):
    """HealthCheckResponse { ServingStatus status = 1; }: field 1 is a varint (key 0x08); any
    other field is skipped, as protobuf readers do; absent, the status is 0 (UNKNOWN)."""
    status, i = 0, 0
    while i < len(data):
        key, i = read_varint(data, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = read_varint(data, i)
            if field == 1:
                status = value
        elif wire == 1:
            i += 8
        elif wire == 2:
            length, i = read_varint(data, i)
            i += length
        elif wire == 5:
            i += 4
        else:
            raise ValueError(f"field {field} has wire type {wire}, which no proto3 message uses")
    if i != len(data):
        raise ValueError("the message ends inside a field")
    return status


def main():
    parser = argparse.ArgumentParser(description="Check a FedAttention coordinator with the gRPC health protocol.")
    parser.add_argument("--target", required=True, help="HOST:PORT, the address serve logs as 'listening on'")
    parser.add_argument("--cert", required=True, help="a client certificate the federation's CA signed (PEM)")
    parser.add_argument("--key", required=True, help="its private key (PEM)")
    parser.add_argument("--ca", required=True, help="the federation's CA certificate (PEM)")
    parser.add_argument("--service", action="append",
                        help='a service to ask about, by full name; repeatable; default: "" (the whole server)')
    parser.add_argument("--server-name", help="the name the coordinator's certificate must carry, when --target uses another")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds each call may take (default 10)")
    args = parser.parse_args()

    def read(path):
        with open(path, "rb") as f:
            return f.read()

    credentials = grpc.ssl_channel_credentials(read(args.ca), read(args.key), read(args.cert))
    options = [("grpc.ssl_target_name_override", args.server_name)] if args.server_name else []
    unreachable, all_serving = False, True
    with grpc.secure_channel(args.target, credentials, options=options) as channel:
        check = channel.unary_unary(CHECK, request_serializer=encode_request, response_deserializer=decode_response)
        for service in args.service if args.service is not None else [""]:
            try:
                status = check(service, timeout=args.timeout)
                answer = STATUSES.get(status, f"status {status}")
                all_serving = all_serving and status == 1
            except grpc.RpcError as error:
                answer = f"{error.code().name}: {error.details()}"
                all_serving = False
                unreachable = unreachable or error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
            print(f"{json.dumps(service)} {answer}", flush=True)
    sys.exit(0 if all_serving else 2 if unreachable else 1)


if __name__ == "__main__":
    main()
