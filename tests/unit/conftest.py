"""The agent harness, for every unit test without importing it: `server` (the fake Messages API) and `harness` (an
Agent on the real store with scripted tools and an allow-all scripted authorizer). Defined in `test_agent_harness.py`
(with `Harness`, `make_harness`, `ScriptedAuthorizer` and the test tools, which tests import); a module that defines
a fixture of the same name uses its own."""

from tests.unit.test_agent_harness import harness_fixture, server_fixture

__all__ = ["harness_fixture", "server_fixture"]
