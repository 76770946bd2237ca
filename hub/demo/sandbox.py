"""`pmhub demo`: the whole post-mortem process, live, with every vendor faked on loopback.

`make run` runs this. It starts the vendor fakes, the real daemon (its real webhook
endpoints, worker, store and connectors) on 127.0.0.1:8080 with an SQLite store in
`var/demo/`, replays a SEV-1 from PagerDuty and a SEV-2 from incident.io through the
signed endpoints, drives both through the lifecycle, and prints one line per thing
pmhub did in a vendor's tool. Then it keeps serving so you can send your own events;
`--once` stops after the story instead, and exits non-zero if an expected effect is
missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web

from hub.app import create_app
from hub.config import ConfigError, load_settings, secret_values
from hub.demo.checks import Expectations
from hub.demo.driver import DemoClock, DemoError, Driver
from hub.demo.narrator import Narrator
from hub.demo.story import Story, story_start, your_own_event
from hub.demo.world import World, start_world
from hub.logging import configure_logging
from hub.policy import PolicyError, load_policies
from hub.runtime import utc_now


@dataclass(frozen=True)
class SandboxOptions:
    data_dir: Path
    policy_path: Path
    host: str = "127.0.0.1"
    port: int = 8080
    vendor_timeout_seconds: float = 10.0


@dataclass(frozen=True)
class Sandbox:
    """A running sandbox: the fakes, the daemon's address, and the story's tools."""

    world: World
    base_url: str
    driver: Driver
    narrator: Narrator


class SandboxError(RuntimeError):
    """The sandbox could not start (a taken port, an invalid policy)."""


@asynccontextmanager
async def running_sandbox(
    options: SandboxOptions, say: Callable[[str], None]
) -> AsyncIterator[Sandbox]:
    """Start the fakes and the daemon; stop both on exit."""
    clock = DemoClock(story_start(utc_now()))
    _fresh(options.data_dir)
    async with AsyncExitStack() as stack:
        world = await start_world(stack, options.data_dir, clock())
        runner = await _start_daemon(world, options, clock)
        stack.push_async_callback(runner.cleanup)
        host, port = runner.addresses[0][:2]
        base_url = f"http://{host}:{port}"
        session = await stack.enter_async_context(aiohttp.ClientSession())
        driver = Driver(session, base_url, world, clock)
        yield Sandbox(world, base_url, driver, Narrator(world, say, driver.deadlines))


async def play(sandbox: Sandbox, say: Callable[[str], None]) -> Expectations | None:
    """Tell the story while narrating; the expectations checked, or None if it stopped."""
    watching = asyncio.create_task(sandbox.narrator.run())
    try:
        await Story(sandbox.driver, say).play()
        await _quiet(sandbox)
        return await Expectations.check(sandbox.driver, sandbox.world)
    except DemoError as error:
        say(f"\npmhub demo: the story stopped: {error}")
        return None
    finally:
        watching.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watching
        sandbox.narrator.look()


async def run_demo(options: SandboxOptions, say: Callable[[str], None], *, once: bool) -> int:
    try:
        async with running_sandbox(options, say) as sandbox:
            say(
                f"pmhub is serving on {sandbox.base_url} (store: {options.data_dir / 'demo.db'});"
                " every vendor is a local fake.\n"
            )
            expectations = await play(sandbox, say)
            if expectations is None:
                return 1
            say("")
            for line in expectations.report():
                say(line)
            # The process in numbers (issue 15): what `pmhub report` prints.
            say("\nThe process in numbers (pmhub report, GET /api/v1/report):")
            say((await sandbox.driver.report()).rstrip())
            if once:
                return 0 if expectations.ok else 1
            example = options.data_dir / "my-event.json"
            your_own_event(sandbox.world, sandbox.driver.clock(), example)
            _how_to_send_your_own(say, options.data_dir, sandbox.base_url, example)
            await until_stopped(sandbox.narrator.run(interval=0.5))  # serve and narrate
    except SandboxError as error:
        say(f"pmhub demo: {error}")
        return 1
    return 0


async def until_stopped(narrating: Coroutine[object, object, None]) -> None:
    """Narrate until Ctrl-C or SIGTERM, then return so the sandbox shuts down cleanly.

    The signals are taken explicitly, as `pmhub serve` takes them: a shell starts a
    background job (`make run &`, a CI script) with SIGINT ignored, and Python then
    never raises KeyboardInterrupt, so the demo would not stop on Ctrl-C or `kill -INT`.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for signum in signals:
        loop.add_signal_handler(signum, stop.set)
    tasks = [asyncio.create_task(narrating), asyncio.create_task(stop.wait())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _quiet(sandbox: Sandbox, seconds: float = 1.0) -> None:
    """Wait until the fakes have seen nothing new for `seconds` (the last notes land)."""
    before = -1
    while len(sandbox.narrator.lines) != before:
        before = len(sandbox.narrator.lines)
        await asyncio.sleep(seconds)
        sandbox.narrator.look()


def _fresh(data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    for stale in data_dir.glob("demo.db*"):
        stale.unlink()


async def _start_daemon(world: World, options: SandboxOptions, clock: DemoClock) -> web.AppRunner:
    config_path = options.data_dir / "pmhub.yaml"
    store_url = f"sqlite+aiosqlite:///{(options.data_dir / 'demo.db').resolve()}"
    config_path.write_text(world.config_text(store_url, options))
    try:
        settings = load_settings(config_path)
        policies = load_policies(settings.policies, settings.teams)
    except (ConfigError, PolicyError) as error:
        raise SandboxError("; ".join(str(problem) for problem in error.problems)) from None
    configure_logging(level="warning", fmt="console", secrets=secret_values(settings))
    app = create_app(settings, policies=policies, clock=clock)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, options.host, options.port).start()
    except OSError as error:
        await runner.cleanup()
        where = f"{options.host}:{options.port}"
        hint = "try --port 0, or `make run PORT=0` (any free port)"
        raise SandboxError(f"cannot listen on {where} ({error.strerror}); {hint}") from None
    return runner


def _how_to_send_your_own(
    say: Callable[[str], None], data_dir: Path, base_url: str, example: Path
) -> None:
    config = data_dir / "pmhub.yaml"
    say(
        "\npmhub keeps serving and narrating (Ctrl-C stops it). Send your own event, signed"
        " as the vendor would sign it; this one resolves PD-1044, a P2 Bob acknowledged:\n"
        f"  .venv/bin/pmhub sign --config {config} --url {base_url} pagerduty {example} | sh\n"
        "Other sources: incidentio, slack/commands, slack/interactions, jira. The admin API"
        f" is at {base_url}/api/v1 (its token is in {config})."
    )
