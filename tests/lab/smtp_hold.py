#!/usr/bin/env python3
"""smtp_hold: open N SMTP sessions to HOST:25 at once, read each greeting,
then wait until the file GO exists (the test reloads meanwhile), and then
finish every session: EHLO, MAIL, RCPT, DATA, a short body, QUIT.

Prints one line per session, "ok HOSTNAME QID" (HOSTNAME from the EHLO
reply) or "fail REASON", and a last line "done OK FAILED".  Used by
tests/lab/test_reload.sh to show that sessions open across a reload are
not dropped and finish under the configuration they started with."""
import os
import socket
import sys
import time


def reply(f):
    """One SMTP reply (all its lines): (code, [texts])."""
    lines = []
    while True:
        line = f.readline()
        if not line:
            raise EOFError("connection closed")
        line = line.decode("ascii", "replace").rstrip("\r\n")
        lines.append(line[4:])
        if len(line) < 4 or line[3] != "-":
            return int(line[:3]), lines


def expect(f, code):
    got, lines = reply(f)
    if got != code:
        raise ValueError("%d %s" % (got, " / ".join(lines)))
    return lines


def finish(sock, f):
    sock.sendall(b"EHLO hold.lab\r\n")
    host = expect(f, 250)[0]
    sock.sendall(b"MAIL FROM:<hold@lab.example>\r\n")
    expect(f, 250)
    sock.sendall(b"RCPT TO:<rcpt@example.com>\r\n")
    expect(f, 250)
    sock.sendall(b"DATA\r\n")
    expect(f, 354)
    sock.sendall(b"Subject: held across a reload\r\n\r\nbody\r\n.\r\n")
    qid = expect(f, 250)[0].split()[-1]
    sock.sendall(b"QUIT\r\n")
    expect(f, 221)
    return host, qid


def main():
    host, n, go = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    sessions = []
    for _ in range(n):
        s = socket.create_connection((host, 25), timeout=30)
        f = s.makefile("rb")
        expect(f, 220)
        sessions.append((s, f))
    print("open %d" % len(sessions), flush=True)
    deadline = time.time() + 60
    while not os.path.exists(go) and time.time() < deadline:
        time.sleep(0.05)
    ok = failed = 0
    for s, f in sessions:
        try:
            name, qid = finish(s, f)
            print("ok %s %s" % (name, qid))
            ok += 1
        except Exception as e:  # every failure is reported, none hidden
            print("fail %s" % e)
            failed += 1
        s.close()
    print("done %d %d" % (ok, failed), flush=True)


main()
