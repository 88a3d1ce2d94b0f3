"""The current policy of this process, reloaded whenever the configuration version in the database moves.

Every request asks `LivePolicy.current()`. It reads one row (`config._version`) at most every
CHATOPS_CONFIG_REFRESH_SECONDS (default 2 s; at once after a change made through this process's database) and
rebuilds the state only when the version moved: a change saved through this process takes effect on its next
request, one saved by another process within the refresh interval. (Reading the version on every request cost
three or more database round trips per turn.)
`LivePolicy.settings()` applies the admin overrides (model, limits) to the start-up Settings.

One `LivePolicy` per process, built by the wiring (`bot.wiring.build_deps`) and held by `Deps.live`.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Protocol

from pydantic import TypeAdapter, ValidationError

from bot.errors import ConfigError
from bot.policy.model import ADMIN_ROLE, POLICY_FIELDS, Policy, policy_from_fields
from bot.settings import Settings
from bot.storage.settings_store import ConfigSnapshot

if TYPE_CHECKING:
    from bot.storage.store import Store

POLICY_PREFIX = "policy."
SETTINGS_PREFIX = "settings."

OVERRIDABLE_SETTINGS: tuple[str, ...] = (
    "chatops_model",
    "chatops_max_tokens",
    "chatops_max_steps",
    "chatops_max_tool_calls",
    "chatops_max_calls_per_response",
    "chatops_max_parallel_calls",
    "chatops_max_tool_failures",
    "chatops_tool_timeout_seconds",
    "chatops_max_result_chars",
    "chatops_max_message_chars",
    "chatops_history_chars",
    "chatops_approval_timeout_minutes",
)
"""Settings an admin may change at run time from the config modal (the model and the loop limits)."""

LIMIT_SETTINGS: tuple[str, ...] = OVERRIDABLE_SETTINGS[1:]


def validate_setting(name: str, value: Any) -> Any:
    """Check one overridable setting against the same type and bounds as the environment; raises ValueError."""
    if name not in OVERRIDABLE_SETTINGS:
        raise ValueError(f"{name} cannot be changed at run time")
    info = Settings.model_fields[name]
    adapter: TypeAdapter[Any] = TypeAdapter(Annotated[info.annotation, *info.metadata])  # type: ignore[arg-type]
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        raise ValueError(exc.errors()[0]["msg"]) from None


@dataclass(frozen=True)
class PolicyState:
    """One version of the configuration: the policy, who has which role, and the setting overrides."""

    version: int
    policy: Policy
    assignments: Mapping[str, str]
    overrides: Mapping[str, Any]
    env_admins: frozenset[str]
    settings: Settings = field(repr=False)
    """The start-up settings with `overrides` applied."""

    def role_of(self, user_id: str) -> str:
        """The user's role: admin when listed in CHATOPS_ADMINS, else their assignment, else the default."""
        if user_id in self.env_admins:
            return ADMIN_ROLE
        role = self.assignments.get(user_id)
        return role if role in self.policy.roles else self.policy.default_role

    def is_admin(self, user_id: str) -> bool:
        """True for chatops admins (not the same thing as Slack workspace admins)."""
        return self.role_of(user_id) == ADMIN_ROLE

    def admins(self) -> frozenset[str]:
        """Everyone who is an admin by name (CHATOPS_ADMINS or an assignment)."""
        assigned = {user for user, role in self.assignments.items() if role == ADMIN_ROLE}
        return self.env_admins | assigned


def state_from_snapshot(snapshot: ConfigSnapshot, settings: Settings) -> PolicyState:
    """Build the state from stored values; missing policy fields take the built-in defaults."""
    fields: dict[str, Any] = {"default_role": settings.chatops_default_role}
    overrides: dict[str, Any] = {}
    for key, value in snapshot.values.items():
        if key.startswith(POLICY_PREFIX) and key.removeprefix(POLICY_PREFIX) in POLICY_FIELDS:
            fields[key.removeprefix(POLICY_PREFIX)] = value
        elif key.startswith(SETTINGS_PREFIX) and key.removeprefix(SETTINGS_PREFIX) in OVERRIDABLE_SETTINGS:
            overrides[key.removeprefix(SETTINGS_PREFIX)] = value
    try:
        policy = policy_from_fields(fields)
        checked = {name: validate_setting(name, value) for name, value in overrides.items()}
    except (ValidationError, ValueError) as exc:
        # Only validated values are ever written; failing loudly beats guessing a looser policy.
        raise ConfigError(f"The stored configuration (version {snapshot.version}) is invalid: {exc}") from exc
    return PolicyState(
        version=snapshot.version,
        policy=policy,
        assignments=dict(snapshot.assignments),
        overrides=checked,
        env_admins=frozenset(settings.chatops_admins),
        settings=settings.model_copy(update=checked) if checked else settings,
    )


class LivePolicy:
    """Caches the PolicyState of the current configuration version."""

    def __init__(self, *, store: Store, settings: Settings, timer: Callable[[], float] = time.monotonic) -> None:
        self._store = store
        self._settings = settings
        self._state: PolicyState | None = None
        self._lock = asyncio.Lock()
        self._timer = timer
        self._checked_at = -math.inf
        self._seen_writes = -1

    async def current(self) -> PolicyState:
        """The state of the newest configuration version (no database read within the refresh interval, and one
        read for every request that finds the interval passed at the same moment: a burst of 200 mentions used to
        send 200 reads of the version)."""
        state = self._fresh_state()
        if state is not None:
            return state
        async with self._lock:
            state = self._fresh_state()  # checked by the request this one waited for
            if state is not None:
                return state
            writes, checked_at = self._store.db.config_writes, self._timer()
            version = await self._store.config_version()
            self._checked_at, self._seen_writes = checked_at, writes
            if self._state is not None and self._state.version == version:
                return self._state
            snapshot = await self._store.load_config()
            self._state = state_from_snapshot(snapshot, self._settings)
            return self._state

    def _fresh_state(self) -> PolicyState | None:
        """The cached state, when it was checked within the refresh interval and nothing was written since."""
        fresh = self._timer() - self._checked_at < self._settings.chatops_config_refresh_seconds
        return self._state if fresh and self._store.db.config_writes == self._seen_writes else None

    async def settings(self) -> Settings:
        """The settings a request should use now: start-up settings plus the admins' model and limit overrides."""
        return (await self.current()).settings

    async def admins(self) -> frozenset[str]:
        """Everyone who is an admin by name now (CHATOPS_ADMINS or an assignment)."""
        return (await self.current()).admins()


class WithLivePolicy(Protocol):
    """Anything holding the process's LivePolicy (`Deps.live`)."""

    @property
    def live(self) -> LivePolicy: ...


def policy_values(policy: Policy) -> dict[str, Any]:
    """The config-table values (`policy.<field>` → JSON) of a policy."""
    dumped = policy.model_dump(mode="json")
    return {f"{POLICY_PREFIX}{name}": dumped[name] for name in POLICY_FIELDS}
