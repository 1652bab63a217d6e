#!/usr/bin/env python3
"""What unauthenticated requests for unknown named URLs make `atlas-ports dashboard` hold, on a
registry of many allocations (docs/reliability.md, "How hard it was tried").

    python3 tests/bench/dashboard_memory.py target/release/atlas-ports [ALLOCATIONS]

Prints the 404's size, the peak RSS (VmHWM) while 40 requests run at once and the RSS held two
seconds later, then the peak after 200 requests whose clients leave mid-lookup. Linux (/proc).
"""
import json, os, socket, subprocess, sys, tempfile, threading, time

binary = os.path.abspath(sys.argv[1])
count = int(sys.argv[2]) if len(sys.argv) > 2 else 50_000
folder = tempfile.mkdtemp()
registry = os.path.join(folder, "ports.json")
allocations = [{"port": 10_000 + i, "worktree": f"wt-{i}", "service": "bulk", "allocated_at": "2025-12-31T10:00:00Z",
                "allocated_by": "bench@host", "description": "benchmark filler", "process_id": None,
                "health_status": "unknown"} for i in range(count)]
with open(registry, "w") as f:
    json.dump({"ranges": {"bulk": {"start": 10_000, "end": 10_000 + count + 999, "description": "bench"}},
               "allocations": allocations,
               "metadata": {"version": "1.0.0", "last_updated": "", "total_allocations": count, "schema_version": 1}},
              f, indent=2)


def start():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = subprocess.Popen([binary, "dashboard", "--port", str(port), "--registry", registry], cwd=folder,
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    p.stdout.readline()
    return p, port


def mb(p, field):
    with open(f"/proc/{p.pid}/status") as f:
        return next(int(l.split()[1]) // 1024 for l in f if l.startswith(field))


def get(port, name="nope.nowhere"):
    with socket.create_connection(("127.0.0.1", port), timeout=300) as s:
        s.sendall(f"GET / HTTP/1.1\r\nHost: {name}.localhost:{port}\r\nConnection: close\r\n\r\n".encode())
        out = b""
        while chunk := s.recv(65536):
            out += chunk
        return out


p, port = start()
body = get(port).split(b"\r\n\r\n", 1)[1]
print(f"{count} allocations; 404 body: {len(body)} bytes")
began = time.time()
workers = [threading.Thread(target=get, args=(port,)) for _ in range(40)]
[w.start() for w in workers]
[w.join() for w in workers]
print(f"40 at once: {time.time() - began:.1f} s, peak RSS {mb(p, 'VmHWM')} MB", end="")
time.sleep(2)
print(f", held after {mb(p, 'VmRSS')} MB")
p.kill(), p.wait()

p, port = start()
for i in range(200):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(f"GET / HTTP/1.1\r\nHost: nope{i}.x.localhost:{port}\r\n\r\n".encode())
    time.sleep(0.01)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.close()
time.sleep(10)
print(f"200 abandoned mid-lookup: peak RSS {mb(p, 'VmHWM')} MB")
p.kill(), p.wait()
