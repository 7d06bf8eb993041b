#!/usr/bin/env python3
"""A TCP proxy that adds a fixed delay to every request, as S3's first-byte latency would.

Listens on 127.0.0.1:LISTEN and forwards to 127.0.0.1:UPSTREAM. The first chunk of each
request (its request line and headers arrive as one) waits DELAY milliseconds before it is
forwarded; the rest of the request (a PUT's body) and the responses stream undelayed. A chunk
starts a new request when the server has answered since the client's last chunk (HTTP/1.1
without pipelining). Connections are independent, so concurrent requests overlap their
delays, as against S3. `cargo run --release -p agsl --example latency_proxy` is the same proxy
in Rust, at half the CPU; `scripts/bench --s3` uses that one unless given --s3-proxy python.
Like it, this one acknowledges the first 64 KiB of each response at once (TCP_QUICKACK after
every read): s3s-fs writes responses in small pieces without TCP_NODELAY, and delayed ACKs
otherwise held each piece back by up to 40 ms.

Usage: scripts/latency_proxy.py LISTEN UPSTREAM [DELAY_MS=30]
"""

import asyncio
import socket
import sys

# The first bytes of each response are acknowledged at once: headers and small bodies.
PROMPT_ACK_BYTES = 64 * 1024


def acknowledge_at_once(writer):
    """Acknowledges what the socket of `writer` received at once (Linux clears the flag)."""
    sock = writer.get_extra_info("socket")
    if sock is not None and hasattr(socket, "TCP_QUICKACK"):
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        except OSError:
            pass  # closed meanwhile by the other direction's end


async def pipe(reader, writer, before_forwarding, after_reading=lambda read: None):
    try:
        while True:
            data = await reader.read(256 * 1024)
            if not data:
                break
            after_reading(len(data))
            await before_forwarding()
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def main():
    listen, upstream = int(sys.argv[1]), int(sys.argv[2])
    delay = (float(sys.argv[3]) if len(sys.argv) > 3 else 30.0) / 1000.0

    async def handle(client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", upstream)
        except OSError:
            client_writer.close()
            return
        # Set by every response chunk, taken by the next request chunk, which then waits.
        answered = [True]
        # Bytes of the current response read so far; a new request starts it again.
        response_bytes = [0]

        async def request_chunk():
            if answered[0]:
                answered[0] = False
                response_bytes[0] = 0
                await asyncio.sleep(delay)

        async def response_chunk():
            answered[0] = True

        def response_read(read):
            response_bytes[0] += read
            if response_bytes[0] < PROMPT_ACK_BYTES:
                acknowledge_at_once(server_writer)

        await asyncio.gather(
            pipe(client_reader, server_writer, request_chunk),
            pipe(server_reader, client_writer, response_chunk, response_read),
        )

    server = await asyncio.start_server(handle, "127.0.0.1", listen, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
