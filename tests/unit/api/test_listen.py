"""The listening socket `python app.py` binds first (api.startup.listen): the connections it accepts answer at once.

A connection kept alive (requests.Session, httpx, the OpenAI SDKs, a browser) gets each answer in two writes (headers,
then body); with Nagle's algorithm on, the second waits for the client's delayed ACK: ~40 ms a request. asyncio turns it
off (TCP_NODELAY) only on sockets that say they are TCP, so the socket must say so."""

import asyncio
import socket

from api.startup import listen


def test_connections_accepted_on_the_listening_socket_have_nagle_off():
    host = "127.0.0.1"
    sock = listen(host, 0)
    assert sock.proto == socket.IPPROTO_TCP

    async def accepted_nodelay() -> int:
        seen: asyncio.Future = asyncio.get_running_loop().create_future()

        async def on_connection(reader, writer):
            seen.set_result(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(on_connection, sock=sock)  # as uvicorn serves `sockets=[sock]`
        async with server:
            port = sock.getsockname()[1]
            _, writer = await asyncio.open_connection(host, port)
            value = await asyncio.wait_for(seen, 10)
            writer.close()
            return value

    assert asyncio.run(accepted_nodelay()) != 0
