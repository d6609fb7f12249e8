#!/usr/bin/env python3
"""A stand-in for qemu-system-x86_64 that the QEMU target cannot tell apart by interface:
it takes the same -qmp and -chardev options, serves QMP on the socket, writes a console
log, and behaves as FAKE_QEMU_MODE says:

  ok          boots, runs the experiment (end marker, rc=0) and powers off
  rc          like ok, but the experiment exits with rc=3
  hang-boot   prints kernel messages, then never reaches init
  hang-run    reaches init, then the experiment never ends
  hang-off    ends the experiment, then never powers off
  panic       panics and resets (QEMU with -no-reboot then exits)
  panic-stay  panics and stays halted
  crash       exits at once with an error, before making the QMP socket
  trace       like ok, but the guest opens trace window "win" and then closes it; a
              device line is logged (-D file) for each event enabled over QMP, once
              inside the window and once after it
"""
import asyncio
import json
import os
import sys


def option(argv: list[str], flag: str) -> str:
    return argv[argv.index(flag) + 1]


def console_path(argv: list[str]) -> str:
    chardev = option(argv, "-chardev")
    return dict(p.split("=", 1) for p in chardev.split(",") if "=" in p)["path"]


class Fake:
    def __init__(self, argv: list[str]) -> None:
        self.mode = os.environ.get("FAKE_QEMU_MODE", "ok")
        self.socket = option(argv, "-qmp").split(",")[0].removeprefix("unix:")
        self.console = open(console_path(argv), "w")
        self.cmdline = option(argv, "-append")
        self.exp = next((w.split("=", 1)[1] for w in self.cmdline.split()
                         if w.startswith("popcorn.exp=")), "none")
        self.debug_log = option(argv, "-D")
        self.enabled: set[str] = set()
        self.writers: list[asyncio.StreamWriter] = []
        self.done = asyncio.Event()

    def say(self, line: str) -> None:
        self.console.write(line + "\n")
        self.console.flush()

    async def event(self, name: str, data: dict) -> None:
        for w in self.writers:
            w.write(json.dumps({"event": name, "data": data,
                                "timestamp": {"seconds": 0, "microseconds": 0}}).encode() + b"\n")
            await w.drain()

    async def client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        greeting = {"QMP": {"version": {"qemu": {"major": 7, "minor": 2, "micro": 0},
                                        "package": "fake"}, "capabilities": []}}
        writer.write(json.dumps(greeting).encode() + b"\n")
        await writer.drain()
        # QMP clients need not end a command with a newline: decode a JSON stream.
        decoder, buffer = json.JSONDecoder(), ""
        while chunk := await reader.read(4096):
            buffer += chunk.decode()
            while buffer.strip():
                try:
                    msg, end = decoder.raw_decode(buffer.lstrip())
                except json.JSONDecodeError:
                    break
                buffer = buffer.lstrip()[end:]
                await self.answer(msg, writer)

    async def answer(self, msg: dict, writer: asyncio.StreamWriter) -> None:
        reply: dict = {"return": {}}
        if msg["execute"] == "query-status":
            reply = {"return": {"status": "running", "running": True}}
        if msg["execute"] == "trace-event-set-state":
            args = msg["arguments"]
            (self.enabled.add if args["enable"] else self.enabled.discard)(args["name"])
        if "id" in msg:
            reply["id"] = msg["id"]
        writer.write(json.dumps(reply).encode() + b"\n")
        await writer.drain()
        if msg["execute"] == "quit":
            await self.event("SHUTDOWN", {"guest": False, "reason": "host-qmp-quit"})
            self.done.set()

    async def guest(self) -> None:
        await asyncio.sleep(0.2)
        self.say("Linux version 6.12.0-fake (fake@qemu)")
        if self.mode == "hang-boot":
            return
        if self.mode.startswith("panic"):
            self.say("Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b")
            if self.mode == "panic":
                await self.event("SHUTDOWN", {"guest": True, "reason": "guest-reset"})
                self.done.set()
            return
        self.say(f"@@POPCORN:BEGIN exp={self.exp}")
        self.say("@@POPCORN:KV init_uptime_s=1.250000")
        if self.mode == "hang-run":
            return
        self.say("[    1.3] random kernel message @@POPCORN:KV kernel_release=6.12.0-fake")
        self.say("@@POPCORN:KV probe=ok")
        if self.mode == "trace":
            for window in ("win", "off"):
                self.say(f"@@POPCORN:KV trace={window}")
                await asyncio.sleep(0.5)  # as a guest waits for the host to act
                with open(self.debug_log, "a") as log:
                    for name in sorted(self.enabled):
                        log.write(f"{name} addr 0x1 val 0x2\n")
        self.say(f"@@POPCORN:END exp={self.exp} rc={3 if self.mode == 'rc' else 0}")
        if self.mode == "hang-off":
            return
        await asyncio.sleep(0.1)
        await self.event("SHUTDOWN", {"guest": True, "reason": "guest-shutdown"})
        self.done.set()

    async def main(self) -> None:
        server = await asyncio.start_unix_server(self.client, path=self.socket)
        async with server:
            await asyncio.sleep(0.1)  # let the target connect before the guest starts
            guest = asyncio.create_task(self.guest())
            await self.done.wait()
            guest.cancel()


if __name__ == "__main__":
    if os.environ.get("FAKE_QEMU_MODE") == "crash":
        print("qemu-system-x86_64: -m 99999999M: cannot set up guest memory 'pc.ram'",
              file=sys.stderr)
        sys.exit(1)
    asyncio.run(Fake(sys.argv[1:]).main())
