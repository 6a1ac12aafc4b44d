"""Actions: the keys call the backend with the right numbers, ask first where they should,
and a failing call becomes a notification with the error's title, cause and next step."""

from __future__ import annotations

from fleetdeck.core.errors import FleetdeckError
from fleetdeck.core.fleet.snapshot import DeploymentStatus
from fleetdeck.tui.app import FleetdeckApp
from fleetdeck.tui.screens.confirm import ConfirmScreen
from fleetdeck.tui.screens.help import HelpScreen
from tests.tui.fleet_data import SIZE, Notes, deployment, fleet, llama, open_detail, shown, until
from tests.tui.scripted_backend import ScriptedBackend


def app_for(backend: ScriptedBackend) -> FleetdeckApp:
    return FleetdeckApp(backend, title="lab", refresh_s=0.01, log_flush_s=0.01)


async def test_plus_scales_the_selected_deployment_up_by_one() -> None:
    snapshot = fleet(
        deployment("alpha", DeploymentStatus.ACTIVE),
        deployment("beta", DeploymentStatus.ACTIVE, hosts=("gpu-a", "gpu-b")),
    )
    backend = ScriptedBackend(snapshot)
    app = app_for(backend)
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, snapshot)
        await pilot.press("down", "plus")
        await until(pilot, lambda: len(backend.calls) == 1)
        assert backend.calls == [("scale", "beta", 3)]

        # A second press before the engine's snapshot shows 3 asks for 4, not 3 again.
        await pilot.press("plus")
        await until(pilot, lambda: len(backend.calls) == 2)
        assert backend.calls[-1] == ("scale", "beta", 4)


async def test_minus_scales_down_asking_before_zero_and_never_below() -> None:
    one = fleet(deployment("alpha", DeploymentStatus.ACTIVE))
    zero = fleet(
        deployment("alpha", DeploymentStatus.STOPPED, ready=0, hosts=(), desired=0),
        taken_at=2.0,
    )
    backend = ScriptedBackend(one)
    notes = Notes()
    app = app_for(backend)
    async with app.run_test(size=SIZE, message_hook=notes) as pilot:
        await shown(pilot, one)
        await pilot.press("minus")
        # Down to 0 is a stop: it asks first (tests/tui/test_command_mode.py: "n" asks none).
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: len(backend.calls) == 1)
        assert backend.calls == [("scale", "alpha", 0)]

        backend.push(zero)
        await shown(pilot, zero)
        await pilot.press("minus")
        await until(pilot, lambda: bool(notes.titled("Already at 0 replicas")))
        await pilot.pause()
        assert backend.calls == [("scale", "alpha", 0)], "asked to go below 0"


async def test_actions_in_the_detail_screen_apply_to_its_deployment() -> None:
    snapshot = fleet(deployment("alpha", DeploymentStatus.ACTIVE), llama())
    backend = ScriptedBackend(snapshot)
    app = app_for(backend)
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, snapshot)
        await open_detail(pilot, "down", "enter")
        await pilot.press("plus", "s")
        await until(pilot, lambda: len(backend.calls) == 2)
        assert backend.calls == [("scale", "llama8b", 4), ("start", "llama8b", None)]


async def test_restart_asks_and_only_restarts_on_y() -> None:
    snapshot = fleet(deployment("alpha", DeploymentStatus.ACTIVE))
    backend = ScriptedBackend(snapshot)
    app = app_for(backend)
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, snapshot)
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("plus", "s")  # other keys do nothing while the question is open
        await pilot.press("n")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        await pilot.pause(0.05)
        assert backend.calls == []

        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: bool(backend.calls))
        assert backend.calls == [("restart", "alpha", None)]


async def test_stop_asks_first_too() -> None:
    snapshot = fleet(deployment("alpha", DeploymentStatus.ACTIVE))
    backend = ScriptedBackend(snapshot)
    app = app_for(backend)
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, snapshot)
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert backend.calls == []
        await pilot.press("y")
        await until(pilot, lambda: bool(backend.calls))
        assert backend.calls == [("stop", "alpha", None)]


async def test_a_failing_action_is_told_with_its_title_cause_and_next_step() -> None:
    snapshot = fleet(deployment("alpha", DeploymentStatus.ACTIVE))
    backend = ScriptedBackend(snapshot)
    backend.failures["scale"] = FleetdeckError(
        "alpha/r1 does not fit",
        "no host with label zone=eu has a free GPU",
        "free a GPU on gpu-a or relax placement.labels",
    )
    backend.failures["start"] = RuntimeError("the engine is closed")
    notes = Notes()
    app = app_for(backend)
    async with app.run_test(size=SIZE, message_hook=notes) as pilot:
        await shown(pilot, snapshot)
        await pilot.press("plus")
        await until(pilot, lambda: bool(notes.titled("alpha/r1 does not fit")))
        note = notes.titled("alpha/r1 does not fit")[0]
        assert note.severity == "error"
        assert note.message == (
            "no host with label zone=eu has a free GPU\n"
            "Next: free a GPU on gpu-a or relax placement.labels"
        )

        await pilot.press("s")
        await until(pilot, lambda: bool(notes.titled("Could not start alpha")))
        note = notes.titled("Could not start alpha")[0]
        assert note.message.startswith("RuntimeError: the engine is closed\nNext: ")
        assert app.is_running


async def test_a_successful_action_says_so() -> None:
    snapshot = fleet(deployment("alpha", DeploymentStatus.ACTIVE))
    notes = Notes()
    app = app_for(ScriptedBackend(snapshot))
    async with app.run_test(size=SIZE, message_hook=notes) as pilot:
        await shown(pilot, snapshot)
        await pilot.press("plus")
        await until(pilot, lambda: bool(notes.titled("Done")))
        assert notes.titled("Done")[0].message == "alpha: 2 replicas wanted"


async def test_help_lists_the_keys_and_q_quits_from_the_detail_screen() -> None:
    snapshot = fleet(llama())
    backend = ScriptedBackend(snapshot)
    app = app_for(backend)
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, snapshot)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, HelpScreen))

        await open_detail(pilot)
        await until(pilot, lambda: bool(backend.open_streams()))
        await pilot.press("q")
        await until(pilot, lambda: not app.is_running)
    assert backend.snapshots_closed
    assert not backend.open_streams(), "a log stream outlived the app"
