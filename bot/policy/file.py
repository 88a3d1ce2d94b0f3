"""The optional policy file (CHATOPS_POLICY_FILE, TOML or YAML), validated with pydantic.

A bad file stops start-up with one message per problem naming the line and the field, e.g.
`policy.toml line 14, roles.member.tools: unknown tool 'delet_ticket' ...`. Roles in the file replace the
built-in role of the same name and add new ones; `assignments` maps Slack user ids to roles.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bot.errors import ConfigError
from bot.policy.model import USER_ID, Policy, default_roles, project_refs


@dataclass(frozen=True)
class PolicyFile:
    """What a policy file sets: the policy fields it names, and role assignments."""

    path: Path
    fields: dict[str, Any]
    """Policy fields the file sets, as JSON (roles already merged over the built-in ones)."""
    assignments: dict[str, str] = field(default_factory=dict)
    policy: Policy = field(default_factory=Policy)
    """The file's fields over the built-in defaults, validated."""
    text: str = field(default="", repr=False)

    def check_projects(self, known: frozenset[str]) -> None:
        """Raise ConfigError naming the line of every project key the ticket system does not know."""
        locate = _locator(self.text, self.path)
        problems = [
            f"  {_where(self.path, locate(loc))}{'.'.join(loc)}: unknown project {key!r} "
            f"(known: {', '.join(sorted(known)) or 'none'})"
            for loc, key in project_refs(self.policy)
            if key not in known
        ]
        if problems:
            raise ConfigError("\n".join([f"Invalid policy file {self.path}:", *problems]))


def load_policy_file(path: Path, *, tools: Mapping[str, str], default_role: str) -> PolicyFile:
    """Read and validate the file; raises ConfigError naming the line and field of every problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"CHATOPS_POLICY_FILE: {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"CHATOPS_POLICY_FILE: cannot read {path}: {exc}") from None
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".yaml", ".yml"):
        raise ConfigError(f"CHATOPS_POLICY_FILE: {path} must end in .toml, .yaml or .yml")
    raw = _parse(text, path, yaml_format=suffix != ".toml")
    return parse_policy_data(raw, text=text, path=path, tools=tools, default_role=default_role)


def parse_policy_data(
    raw: Any, *, text: str, path: Path, tools: Mapping[str, str], default_role: str
) -> PolicyFile:
    """Validate parsed file content (a mapping) into a PolicyFile."""
    locate = _locator(text, path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    data = dict(raw)
    if "mcp_trust" in data:
        raise ConfigError(f"{path}: mcp_trust is set by admins in Slack (/chatops config), not in the policy file")
    assignments_raw = data.pop("assignments", {}) or {}
    fields = dict(data)
    if "roles" in fields and isinstance(fields["roles"], dict):
        merged = {name: role.model_dump(mode="json") for name, role in default_roles().items()}
        merged.update(fields["roles"])
        fields["roles"] = merged
    try:
        policy = Policy.model_validate({"default_role": default_role, **fields}, context={"tools": tools})
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path, locate)) from None
    problems = _check_assignments(assignments_raw, policy)
    if problems:
        lines = [f"Invalid policy file {path}:"]
        lines += [f"  {_where(path, locate(loc))}{'.'.join(map(str, loc))}: {msg}" for loc, msg in problems]
        raise ConfigError("\n".join(lines))
    dumped = policy.model_dump(mode="json")
    return PolicyFile(
        path=path,
        fields={name: dumped[name] for name in fields},
        assignments={str(user): str(role) for user, role in assignments_raw.items()},
        policy=policy,
        text=text,
    )


def _locator(text: str, path: Path) -> Any:
    return _toml_locator(text) if path.suffix.lower() == ".toml" else _yaml_locator(text)


def _parse(text: str, path: Path, *, yaml_format: bool) -> Any:
    if not yaml_format:
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"Invalid policy file {path}: {exc}") from None
    try:
        return yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"Invalid policy file {path}{where}: {problem}") from None


def _check_assignments(raw: Any, policy: Policy) -> list[tuple[tuple[str, ...], str]]:
    if not isinstance(raw, dict):
        return [(("assignments",), "expected a mapping of Slack user id = role")]
    problems: list[tuple[tuple[str, ...], str]] = []
    for user_id, role in raw.items():
        if not USER_ID.match(str(user_id)):
            problems.append((("assignments", str(user_id)), "not a Slack user id (like U0123ABCD)"))
        elif role not in policy.roles:
            problems.append(
                (("assignments", str(user_id)), f"unknown role {role!r} (roles: {', '.join(policy.roles)})")
            )
    return problems


def _describe(exc: ValidationError, path: Path, locate: Any) -> str:
    lines = [f"Invalid policy file {path}:"]
    for err in exc.errors():
        loc = tuple(str(part) for part in err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown setting (check the spelling; see docs/policy.md)"
        name = ".".join(loc) or "(top level)"
        lines.append(f"  {_where(path, locate(loc))}{name}: {message}")
    return "\n".join(lines)


def _where(path: Path, line: int | None) -> str:
    return f"{path.name} line {line}, " if line else ""


def _toml_locator(text: str) -> Any:
    """Map a field path to the line defining it: table headers and `key =` lines, longest prefix wins."""
    entries: list[tuple[tuple[str, ...], int]] = []
    table: tuple[str, ...] = ()
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        header = re.match(r"^\[\[?\s*([^\]]+?)\s*\]\]?", stripped)
        if header:
            table = _dotted(header.group(1))
            entries.append((table, number))
            continue
        key = re.match(r"^((?:\"[^\"]*\"|'[^']*'|[A-Za-z0-9_\-]+)(?:\s*\.\s*(?:\"[^\"]*\"|'[^']*'|[A-Za-z0-9_\-]+))*)\s*=", stripped)
        if key:
            entries.append((table + _dotted(key.group(1)), number))

    def locate(loc: Sequence[str]) -> int | None:
        best: tuple[int, int] | None = None
        for path, number in entries:
            if tuple(loc[: len(path)]) == path and (best is None or len(path) > best[0]):
                best = (len(path), number)
        return best[1] if best else None

    return locate


def _dotted(name: str) -> tuple[str, ...]:
    return tuple(part.strip().strip("\"'") for part in re.findall(r"\"[^\"]*\"|'[^']*'|[^.]+", name))


def _yaml_locator(text: str) -> Any:
    """Map a field path to its line by walking YAML's node tree."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        root = None

    def locate(loc: Sequence[str]) -> int | None:
        node = root
        line = None
        for part in loc:
            if isinstance(node, yaml.MappingNode):
                match = next(((k, v) for k, v in node.value if str(k.value) == part), None)
                if match is None:
                    break
                line = match[0].start_mark.line + 1
                node = match[1]
            elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
                node = node.value[int(part)]
                line = node.start_mark.line + 1
            else:
                break
        return line

    return locate
