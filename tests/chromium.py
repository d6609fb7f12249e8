"""Headless Chromium (Debian's package) driven over the DevTools protocol on a pipe
(--remote-debugging-pipe: JSON messages ending in NUL, commands on the browser's fd 3,
answers and events on its fd 4), so the tests need no websocket client."""
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--no-first-run", "--no-default-browser-check", "--remote-debugging-pipe"]


def chromium_binary() -> str | None:
    return shutil.which("chromium")


class DevToolsError(RuntimeError):
    pass


class Chromium:
    """One browser, one page. ``with Chromium() as page: page.open(url); page.run(js)``."""

    def __init__(self, binary: str | None = None, timeout_s: float = 60):
        self.binary = binary or chromium_binary() or "chromium"
        self.timeout_s = timeout_s
        self._next_id = 0
        self._buffer = b""
        self.events: list[dict] = []

    def __enter__(self) -> "Chromium":
        self._profile = tempfile.TemporaryDirectory(prefix="chromium-profile-")
        to_browser, self._send_fd = os.pipe()
        self._recv_fd, from_browser = os.pipe()
        # Moved above 9 so that bash can put them on fds 3 and 4 without clobbering one.
        to_browser, from_browser = (_above_nine(fd) for fd in (to_browser, from_browser))
        script = f'exec "$@" 3<&{to_browser} 4>&{from_browser} {to_browser}<&- {from_browser}>&-'
        argv = ["bash", "-c", script, "chromium", self.binary, *FLAGS,
                f"--user-data-dir={self._profile.name}", "about:blank"]
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(argv, pass_fds=(to_browser, from_browser),
                                     stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        os.close(to_browser)
        os.close(from_browser)
        targets = self.call("Target.getTargets")["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        self.session = self.call("Target.attachToTarget", targetId=page["targetId"],
                                 flatten=True)["sessionId"]
        self.call("Page.enable", session=True)
        self.call("Runtime.enable", session=True)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.call("Browser.close")
        except (DevToolsError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._send_fd)
        os.close(self._recv_fd)
        self.log.close()
        self._profile.cleanup()

    def browser_log(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-3000:]

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise DevToolsError(f"no answer in {self.timeout_s} s:\n{self.browser_log()}")
            chunk = os.read(self._recv_fd, 1 << 20)
            if not chunk:
                raise DevToolsError(f"the browser went away:\n{self.browser_log()}")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, session: bool = False, **params: Any) -> dict:
        self._next_id += 1
        request = {"id": self._next_id, "method": method, "params": params}
        if session:
            request["sessionId"] = self.session
        os.write(self._send_fd, json.dumps(request).encode() + b"\0")
        deadline = time.monotonic() + self.timeout_s
        while True:
            message = self._read_message(deadline)
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise DevToolsError(f"{method}: {message['error']}")
                return message["result"]
            self.events.append(message)

    def wait_event(self, method: str) -> dict:
        deadline = time.monotonic() + self.timeout_s
        while True:
            for i, event in enumerate(self.events):
                if event.get("method") == method:
                    return self.events.pop(i)
            self.events.append(self._read_message(deadline))

    def open(self, url: str) -> None:
        """Navigates and waits for the load event (scripts of the page have run)."""
        self.events.clear()
        self.call("Page.navigate", session=True, url=url)
        self.wait_event("Page.loadEventFired")

    def run(self, expression: str, context_id: int | None = None) -> Any:
        """The value of a JavaScript expression (a promise is awaited), as JSON."""
        params: dict[str, Any] = {"expression": expression, "awaitPromise": True,
                                  "returnByValue": True}
        if context_id is not None:
            params["contextId"] = context_id
        result = self.call("Runtime.evaluate", session=True, **params)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise DevToolsError(details.get("exception", {}).get("description")
                                or details.get("text"))
        return result["result"].get("value")

    def frames(self) -> list[dict]:
        """Every frame of the page, depth first: {"id", "url"}."""
        def walk(node: dict) -> list[dict]:
            return [node["frame"], *(f for c in node.get("childFrames", []) for f in walk(c))]
        return walk(self.call("Page.getFrameTree", session=True)["frameTree"])

    def run_in_frame(self, frame_id: str, expression: str) -> Any:
        """Evaluates in a child frame (an iframe of a data: URL is another origin, out of
        reach of the page's own scripts)."""
        world = self.call("Page.createIsolatedWorld", session=True, frameId=frame_id)
        return self.run(expression, context_id=world["executionContextId"])


def _above_nine(fd: int) -> int:
    high = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return high


def file_url(path: Path) -> str:
    return Path(path).resolve().as_uri()
