#!/usr/bin/env python3
"""A TCP proxy that adds a fixed delay to every request, as S3's first-byte latency would.

Listens on 127.0.0.1:LISTEN and forwards to 127.0.0.1:UPSTREAM. Each chunk the client sends
(an HTTP request line and headers arrive as one) waits DELAY milliseconds before it is
forwarded; responses stream back undelayed. Connections are independent, so concurrent
requests overlap their delays, as against S3.

Usage: scripts/latency_proxy.py LISTEN UPSTREAM [DELAY_MS=30]
"""

import asyncio
import sys


async def pipe(reader, writer, delay):
    try:
        while True:
            data = await reader.read(256 * 1024)
            if not data:
                break
            if delay:
                await asyncio.sleep(delay)
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
        await asyncio.gather(
            pipe(client_reader, server_writer, delay),
            pipe(server_reader, client_writer, 0),
        )

    server = await asyncio.start_server(handle, "127.0.0.1", listen, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
