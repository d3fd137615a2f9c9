"""How long a client that sends its request head one byte at a time keeps a connection open:
plain uvicorn (its defaults) against `tamis serve`'s configuration (tamis.api.server), same run.

    PYTHONPATH=src python bench/slow_clients.py      # loopback only; about 25 s
"""
import socket, threading, time, uvicorn
async def app(scope, receive, send):
    if scope["type"] != "http": return
    await send({"type": "http.response.start", "status": 200, "headers": []}); await send({"type": "http.response.body", "body": b"ok"})
for label, kw in [("plain uvicorn", {}), ("tamis server_config", None)]:
    with socket.socket() as p:
        p.bind(("127.0.0.1", 0)); port = p.getsockname()[1]
    if kw is None:
        from tamis.config import get_settings; get_settings().header_timeout_s = 2.0
        from tamis.api.server import server_config; cfg = server_config(app, "127.0.0.1", port, lifespan="off", log_level="warning")
    else:
        cfg = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    server = uvicorn.Server(cfg); threading.Thread(target=server.run, daemon=True).start()
    while not server.started: time.sleep(0.05)
    s = socket.create_connection(("127.0.0.1", port)); s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX: "); s.settimeout(1.0)
    t0 = time.monotonic(); closed = False
    while time.monotonic() - t0 < 20:
        try:
            s.sendall(b"a")
            if s.recv(10) == b"": closed = True; break
        except socket.timeout: continue
        except OSError: closed = True; break
    print(label, "closed" if closed else "still open", "after", round(time.monotonic() - t0, 1), "s")
    server.should_exit = True
