#!/usr/bin/env python3
"""tnsc repl under a pseudo-terminal: prompts, continuation, Ctrl-C while
typing and during a computation, Ctrl-D to leave. Prints `N passed, N failed`."""
import os, pty, select, sys, tempfile, time

TNSC = sys.argv[1]
passed = failed = 0


def check(ok, what, seen=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL:", what, "\n--- terminal showed:\n" + seen[-800:])


def read_until(fd, text, timeout=20.0):
    """Reads the terminal until text appears; returns everything read."""
    buf = b""
    end = time.time() + timeout
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if not r:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        buf += chunk
        if text.encode() in buf:
            break
    return buf.decode(errors="replace")


home = tempfile.mkdtemp()
pid, fd = pty.fork()
if pid == 0:
    os.environ["HOME"] = home
    os.environ["TERM"] = "dumb"
    os.execv(TNSC, [TNSC, "repl"])

out = read_until(fd, "tns> ")
check("tns> " in out, "first prompt", out)

os.write(fd, b"A = ones(f64[2, 2])\n")
out = read_until(fd, "tns> ")
check("A: f64[2, 2]" in out, "defining a tensor prints its type", out)

os.write(fd, b"def f(x: f64) -> f64 {\n")
out = read_until(fd, "... ")
check("... " in out, "continuation prompt inside a def", out)
os.write(fd, b"  return 3.0 * x\n}\n")
out = read_until(fd, "tns> ")
os.write(fd, b"f(2.0)\n")
out = read_until(fd, "tns> ")
check("6.0" in out, "the def works after continuation", out)

os.write(fd, b"B = (1.0 +\n")
out = read_until(fd, "... ")
check("... " in out, "continuation after an open parenthesis", out)
os.write(fd, b"\x03")
out = read_until(fd, "tns> ")
check("tns> " in out, "Ctrl-C cancels the input being typed", out)
os.write(fd, b"A[1, 1] + 1.0\n")
out = read_until(fd, "tns> ")
check("2.0" in out, "the session goes on after Ctrl-C", out)

os.write(fd, b"M = rand(f64[80, 80], 1)\n")
read_until(fd, "tns> ")
# far more than a second of work, that no optimiser can fold away
os.write(fd, b"for t in 0..1000000 { M[i, j] = M[i, k] * M[k, j] / 40.0 }\n")
time.sleep(1.0)
os.write(fd, b"\x03")
out = read_until(fd, "tns> ")
check("interrupted" in out, "Ctrl-C interrupts a computation", out)
os.write(fd, b"A[0, 0]\n")
out = read_until(fd, "tns> ")
check("1.0" in out, "values survive an interrupted computation", out)

os.write(fd, b":quit\n")
_, status = os.waitpid(pid, 0)
check(os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, ":quit leaves with status 0")

# A fresh session: Ctrl-D at the prompt leaves, and the history of the
# first session was kept in ~/.tnsc_history.
pid, fd = pty.fork()
if pid == 0:
    os.environ["HOME"] = home
    os.environ["TERM"] = "dumb"
    os.execv(TNSC, [TNSC])          # bare tnsc on a terminal is the REPL
out = read_until(fd, "tns> ")
check("tns> " in out, "bare tnsc on a terminal starts the REPL", out)
time.sleep(0.3)                     # let line editing take the terminal
os.write(fd, b"\x04")
_, status = os.waitpid(pid, 0)
check(os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, "Ctrl-D leaves with status 0")
hist = os.path.join(home, ".tnsc_history")
text = open(hist, errors="replace").read() if os.path.exists(hist) else ""
check("ones(f64" in text, "history saved in ~/.tnsc_history", text)

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
