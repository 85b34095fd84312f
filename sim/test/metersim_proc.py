"""A metersim process for the integration tests (sim/test and testbench/test import it;
env MS_BUILD_DIR as ctest sets it).

Meter(*args) starts `metersim --model ms3p-direct --clock CLOCK --start START ARGS`,
waits for its `ready {json}` line and stops it by its PID in close() (or kill(): SIGKILL).
Its stderr goes to a file in a temporary folder (shown when it never gets ready), so that
a chatty meter can never block on a full pipe.
"""
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

BUILD = os.environ.get("MS_BUILD_DIR", "build")
METERSIM = os.path.join(BUILD, "sim", "metersim")


class Meter:
    """A metersim started here, stopped by its PID.

    pty: also listen on a pty at self.link (a link in a temporary folder).
    load: --load PATH (None: the model's default load).
    """

    def __init__(self, *args, start="2016-06-01T00:00:00Z", load=None, pty=True,
                 model="ms3p-direct", clock="stepped", ready_timeout=20):
        self.tmp = tempfile.mkdtemp(prefix="ms-it-")
        self.link = os.path.join(self.tmp, "meter")
        cmd = [METERSIM, "--model", model, "--clock", clock, "--start", start]
        if load:
            cmd += ["--load", load]
        if pty:
            cmd += ["--pty", self.link]
        self._err = open(os.path.join(self.tmp, "stderr.log"), "wb")
        self.proc = subprocess.Popen([*cmd, *args], stdout=subprocess.PIPE,
                                     stderr=self._err)
        line = self._readline(ready_timeout)
        if not line.startswith(b"ready "):
            self.close(keep_tmp=True)
            with open(self._err.name, "rb") as f:
                err = f.read().decode(errors="replace")
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise AssertionError(f"metersim not ready: {line!r} {err}")
        self.ready = json.loads(line[6:])
        self.id = self.ready["meters"][0]["id"]
        self.api = self.ready.get("control")

    def _readline(self, timeout):
        fd = self.proc.stdout.fileno()
        end = time.monotonic() + timeout
        buf = b""
        while not buf.endswith(b"\n") and time.monotonic() < end:
            if select.select([fd], [], [], 0.1)[0]:
                c = os.read(fd, 1)
                if not c:
                    break
                buf += c
        return buf

    def call(self, method, path, body=None):
        """Control API request; returns (HTTP status, decoded JSON body)."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.api + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def get(self, path):
        """GET a control API path (relative to /v1); the JSON of a 200 answer."""
        status, s = self.call("GET", path)
        assert status == 200, (path, status, s)
        return s

    def post(self, path, body):
        """POST a JSON body; the JSON of a 200 answer."""
        status, s = self.call("POST", path, body)
        assert status == 200, (path, status, s)
        return s

    def state(self):
        return self.get(f"/meters/{self.id}")

    def port(self, i=0):
        """Port i of the ready line (pty path, TCP address, protocol)."""
        return self.ready["meters"][0]["ports"][i]

    def address(self, i=0):
        """(host, port) of TCP port i."""
        host, port = self.port(i)["address"].rsplit(":", 1)
        return host, int(port)

    def kill(self):
        """SIGKILL, as a power cut would (no flush)."""
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.close()

    def close(self, keep_tmp=False):
        """SIGTERM (SIGKILL after 10 s); returns metersim's exit status."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc.stdout.close()
        self._err.close()
        if not keep_tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
        return self.proc.returncode
