"""`/chatops config` through the real Bolt app: admins only (checked on open and on submit), field errors inside
the modal, every change audited and live on the next request in every process, nothing half-applied."""

from __future__ import annotations

import logging
import threading

import pytest

from bot.messages import admin as admin_text
from bot.policy.roles import role_of
from bot.storage.db import Database
from bot.tools.base import Actor, ToolContext
from tests.admin_modal_driver import form_state, open_modal, submit
from tests.approvals_world import (
    ADMIN,
    CHANNEL,
    LEO,
    MAYA,
    VIC,
    ApprovalsWorld,
    close_world,
    make_world,
)
from tests.conftest import FixedClock
from tests.fakes.anthropic_server import AnthropicServer
from tests.fakes.slack_payloads import slash_command
from tests.fakes.slack_server import FakeSlack


async def decision(approvals_world: ApprovalsWorld, user: str, key: str, tool: str = "get_ticket", channel_type: str = "im") -> str:
    the_tool = next(t for t in approvals_world.deps.tools if t.name == tool)
    ctx = ToolContext(actor=Actor(user_id=user, channel_id="D0X", channel_type=channel_type), deps=approvals_world.deps, conversation_id="c")  # type: ignore[arg-type]
    args = the_tool.args_model.model_validate({"key": key} if tool == "get_ticket" else {"key": key, "body": "x"})
    return (await approvals_world.deps.authorizer.authorize(ctx, the_tool, args)).outcome


async def test_an_admin_gets_the_modal_filled_with_the_current_configuration(approvals_world: ApprovalsWorld) -> None:
    view = await open_modal(approvals_world)
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    assert view["callback_id"] == "chatops.config"
    assert blocks["model"]["element"]["initial_value"] == "claude-sonnet-4-6"
    assert blocks["assign:viewer"]["element"]["initial_users"] == [VIC]
    assert blocks["projects:member"]["element"]["initial_value"] == "public"
    assert [o["value"] for o in blocks["confirm:member"]["element"]["initial_options"]] == ["write"]
    assert "public: public" in blocks["channel_scopes"]["element"]["initial_value"]
    assert blocks["limit:chatops_max_steps"]["element"]["initial_value"] == "10"


async def test_someone_who_is_not_an_admin_gets_a_refusal_and_no_modal(approvals_world: ApprovalsWorld) -> None:
    command = slash_command("/chatops", "config", user=MAYA, channel=CHANNEL, response_url=approvals_world.slack.response_url())
    await approvals_world.dispatch(command)
    await approvals_world.slack.await_call("response_url")
    assert "Only chatops admins" in approvals_world.slack.calls("response_url")[-1].args["text"]
    assert approvals_world.slack.calls("views.open") == []


async def test_a_saved_change_applies_on_the_next_request_in_every_process_and_is_audited(
    approvals_world: ApprovalsWorld, database: Database, slack: FakeSlack, model: AnthropicServer, clock: FixedClock  # noqa: F811
) -> None:
    other = await make_world(database, slack, model, clock)  # a second bot process on the same database
    try:
        assert await decision(other, MAYA, "SEC-1") == "deny"
        view = await open_modal(approvals_world)
        audited_before = {r.id for r in await approvals_world.store.config_audit()}

        ack = await submit(
            approvals_world,
            view,
            projects__member="OPS, sec",
            assign__viewer=[VIC, LEO],
            limit__chatops_max_steps="5",
            model="claude-haiku-4-5",
        )

        assert ack == {}  # the modal closes
        assert await decision(other, MAYA, "SEC-1") == "allow"
        assert await role_of(other.deps, LEO) == "viewer"
        live = await other.deps.live.settings()
        assert (live.chatops_max_steps, live.chatops_model) == (5, "claude-haiku-4-5")
    finally:
        await close_world(other)
    changes = {r.target: r for r in await approvals_world.store.config_audit() if r.id not in audited_before}
    assert set(changes) == {"policy.roles", "role:U0LEO", "settings.chatops_max_steps", "settings.chatops_model"}
    assert all(r.user_id == ADMIN for r in changes.values())
    assert changes["role:U0LEO"].details == {"field": "role:U0LEO", "before": None, "after": "viewer"}
    assert changes["policy.roles"].details["before"]["member"]["projects"] == ["public"]  # type: ignore[index]
    assert changes["policy.roles"].details["after"]["member"]["projects"] == ["OPS", "SEC"]  # type: ignore[index]
    confirmation = approvals_world.slack.calls("chat.postMessage")[-1].args
    assert confirmation["channel"] == ADMIN and "Configuration saved as version" in confirmation["text"]


async def test_a_forged_submission_from_a_non_admin_changes_nothing_and_is_logged(
    approvals_world: ApprovalsWorld, caplog: pytest.LogCaptureFixture
) -> None:
    view = await open_modal(approvals_world)  # an admin's modal; Maya replays its submission as herself
    version = await approvals_world.store.config_version()

    with caplog.at_level(logging.WARNING, logger="chatops.slack.admin"):
        ack = await submit(approvals_world, view, user=MAYA, assign__admin=[MAYA])

    assert ack["response_action"] == "update" and "Only chatops admins" in str(ack["view"])
    assert await approvals_world.store.config_version() == version
    assert await role_of(approvals_world.deps, MAYA) == "member"
    [denial] = [r for r in await approvals_world.store.config_audit() if r.action == "config_denied"]
    assert denial.user_id == MAYA
    assert any(r.getMessage() == "config submission refused: not an admin" for r in caplog.records)


async def test_invalid_values_come_back_as_field_errors_and_nothing_is_saved(approvals_world: ApprovalsWorld) -> None:
    view = await open_modal(approvals_world)
    version = await approvals_world.store.config_version()

    ack = await submit(
        approvals_world,
        view,
        projects__viewer="OPS, NOPE",
        limit__chatops_max_steps="99",
        model="",
    )

    assert ack["response_action"] == "errors"
    assert ack["errors"] == {
        "projects:viewer": "Unknown project 'NOPE' (known: OPS, SEC)",
        "limit:chatops_max_steps": "Input should be less than or equal to 50",
        "model": "String should have at least 1 character",
    }
    assert await approvals_world.store.config_version() == version


async def test_a_malformed_channel_scope_line_is_named(approvals_world: ApprovalsWorld) -> None:
    view = await open_modal(approvals_world)
    ack = await submit(approvals_world, view, channel_scopes="im: *\npublik: public")
    assert ack["errors"] == {
        "channel_scopes": "Line 2: 'publik' is not a channel type (im, mpim, public, private, ext_shared, shell) "
        "or a channel id (like C0123ABCD)"
    }


async def test_a_channel_can_be_scoped_to_a_private_project(approvals_world: ApprovalsWorld) -> None:
    view = await open_modal(approvals_world)
    scopes = form_state(view)["channel_scopes"]["value"]["value"] + "\nC0SECTEAM: SEC"
    assert await submit(approvals_world, view, channel_scopes=scopes) == {}
    state = await approvals_world.deps.live.current()
    assert state.policy.channel_scopes.scope_for(channel_id="C0SECTEAM", channel_type="private") == ("SEC",)


async def test_unknown_users_and_bots_cannot_be_given_a_role(approvals_world: ApprovalsWorld) -> None:
    view = await open_modal(approvals_world)
    ack = await submit(approvals_world, view, assign__member=["U0GHOST"], assign__viewer=[VIC, "U0ROBOT"])
    assert ack["errors"] == {
        "assign:member": "Unknown user U0GHOST",
        "assign:viewer": "<@U0ROBOT> is a bot; roles are for people",
    }


async def test_one_person_in_two_roles_is_refused(approvals_world: ApprovalsWorld) -> None:
    view = await open_modal(approvals_world)
    ack = await submit(approvals_world, view, assign__member=[LEO], assign__viewer=[VIC, LEO])
    assert ack["errors"] == {"assign:viewer": "<@U0LEO> is also given the member role"}


async def test_an_admin_from_the_environment_cannot_be_demoted_from_slack(approvals_world: ApprovalsWorld) -> None:
    view = await open_modal(approvals_world)
    ack = await submit(approvals_world, view, assign__viewer=[VIC, ADMIN])
    assert "CHATOPS_ADMINS" in ack["errors"]["assign:viewer"]


async def test_a_change_that_would_lock_every_admin_out_is_refused(
    database: Database, slack: FakeSlack, model: AnthropicServer, clock: FixedClock  # noqa: F811
) -> None:
    from bot.storage.migrations import migrate
    from tests.approvals_world import seed_tickets

    await migrate(database)
    await seed_tickets(database, clock)
    no_env_admins = await make_world(database, slack, model, clock, chatops_admins="")
    try:
        version = await no_env_admins.store.config_version()
        await no_env_admins.store.apply_config(actor_id="bootstrap", expected_version=version, assignments={LEO: "admin"})
        view = await open_modal(no_env_admins, user=LEO)

        ack = await submit(no_env_admins, view, user=LEO, assign__admin=[], assign__member=[LEO])

        assert ack["errors"] == {"assign:admin": "This would leave no chatops admin: keep at least one admin (or set CHATOPS_ADMINS)."}
        assert await role_of(no_env_admins.deps, LEO) == "admin"
    finally:
        await close_world(no_env_admins)


async def test_a_modal_opened_before_someone_elses_change_cannot_overwrite_it(approvals_world: ApprovalsWorld) -> None:
    view = await open_modal(approvals_world)
    version = await approvals_world.store.config_version()
    await approvals_world.store.apply_config(actor_id="U0OTHERADMIN", expected_version=version, assignments={LEO: "viewer"})

    ack = await submit(approvals_world, view, model="claude-haiku-4-5")

    assert "changed the configuration while you were editing" in ack["errors"]["model"]
    assert (await approvals_world.deps.live.settings()).chatops_model == "claude-sonnet-4-6"
    assert await role_of(approvals_world.deps, LEO) == "viewer"


async def test_switching_a_tool_off_stops_offering_it_to_everyone(approvals_world: ApprovalsWorld) -> None:
    view = await open_modal(approvals_world)
    keep = [t.name for t in approvals_world.deps.tools if t.name != "add_comment"]
    assert await submit(approvals_world, view, enabled_tools=keep) == {}
    admin = Actor(user_id=ADMIN, channel_id="D0ADMIN", channel_type="im")
    assert "add_comment" not in [t.name for t in await approvals_world.deps.authorizer.offered_tools(admin, approvals_world.deps.tools)]


async def test_a_trigger_slack_refuses_gets_a_clear_message(approvals_world: ApprovalsWorld) -> None:
    approvals_world.slack.fail("views.open", error="expired_trigger_id")
    command = slash_command("/chatops", "config", user=ADMIN, channel=CHANNEL, response_url=approvals_world.slack.response_url())
    await approvals_world.dispatch(command)
    await approvals_world.slack.await_call("response_url")
    assert "couldn't open the configuration dialog" in approvals_world.slack.calls("response_url")[-1].args["text"]


async def test_people_slack_cannot_confirm_in_time_are_field_errors_and_the_ack_does_not_wait(approvals_world: ApprovalsWorld) -> None:
    view = await open_modal(approvals_world)
    version = await approvals_world.store.config_version()
    slow_slack = threading.Event()
    approvals_world.slack.fail("users.info", hold=slow_slack, times=2)

    ack = await submit(approvals_world, view, assign__viewer=[VIC, LEO], assign__member=[MAYA])

    assert not slow_slack.is_set()  # acknowledged while Slack still holds both answers
    assert len(approvals_world.slack.calls("users.info")) == 2  # both asked at once, not one after the other
    assert ack == {
        "response_action": "errors",
        "errors": {"assign:viewer": admin_text.config_user_unverified(LEO), "assign:member": admin_text.config_user_unverified(MAYA)},
    }
    assert await approvals_world.store.config_version() == version
    assert await role_of(approvals_world.deps, LEO) == "member"


async def test_a_dropped_connection_while_opening_gets_a_clear_message_and_is_not_sent_again(approvals_world: ApprovalsWorld) -> None:
    approvals_world.slack.fail("views.open", drop=True, applied=True)  # Slack may have opened it; the answer is lost
    command = slash_command("/chatops", "config", user=ADMIN, channel=CHANNEL, response_url=approvals_world.slack.response_url())
    await approvals_world.dispatch(command)
    await approvals_world.slack.await_call("response_url")
    assert "couldn't open the configuration dialog" in approvals_world.slack.calls("response_url")[-1].args["text"]
    assert len(approvals_world.slack.calls("views.open")) == 1
    assert approvals_world.surface.tasks.failures == 0
