#!/usr/bin/env python3
"""The coordinator's heap at its peak, by the component that allocated it.

    fedattn-coordinator bench --clients 200 --rounds 5 --serve-wrapper "heaptrack -o out/serve"
    scripts/heap-by-component.py out/serve.zst

Each allocation alive at the peak is counted under the innermost frame of its stack that
matches a component below (heaptrack_print's stacks, leaf last).
"""
import collections
import re
import subprocess
import sys
import tempfile

COMPONENTS = [
    ("TLS (swift-nio-ssl buffers)", r"NIOSSLHandler|ByteBufferBIO|SSLConnection"),
    ("BoringSSL", r"CNIOBoringSSL"),
    ("HTTP/2 frame parser", r"HTTP2FrameParser|HTTP2FrameDecoder"),
    ("model: running sum and weights", r"UpdateAccumulator"),
    ("model: payload encoding", r"FedAttnCodec"),
    ("coordinator", r"FedAttnFederation|FedAttnTransport"),
    ("gRPC messages (model pieces in flight)", r"GRPCNIOTransport"),
    ("HTTP/2 streams and state", r"NIOHTTP2"),
    ("gRPC core", r"GRPCCore"),
    ("Swift tasks", r"swift_task_create|StackAllocator"),
    ("socket reads", r"NIOPosix|SelectableEventLoop|SocketChannel|BaseSocket"),
    ("SQLite history", r"sqlite|GRDB"),
]


def main(profile):
    with tempfile.NamedTemporaryFile(suffix=".folded") as folded:
        subprocess.run(
            ["heaptrack_print", "-f", profile, "--print-peaks", "0", "--print-allocators", "0", "--print-temporary", "0",
             "--print-leaks", "0", "-F", folded.name, "--flamegraph-cost-type", "peak"],
            check=True, stdout=subprocess.DEVNULL)
        bytes_by = collections.Counter()
        for line in open(folded.name):
            stack, _, count = line.rstrip().rpartition(" ")
            name = "other"
            for frame in reversed(stack.split(";")):
                found = next((n for n, pattern in COMPONENTS if re.search(pattern, frame)), None)
                if found:
                    name = found
                    break
            bytes_by[name] += int(count)
    for name, count in bytes_by.most_common():
        print(f"{count / 1e6:8.2f} MB  {name}")
    print(f"{sum(bytes_by.values()) / 1e6:8.2f} MB  heap at its peak")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
