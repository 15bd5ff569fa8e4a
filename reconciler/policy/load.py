"""Reads a TOML rules file into a Policy, reporting every problem with file:line:column.

Validation never stops at the first problem: each group is checked on its own, and a broken
group never keeps the others from loading. Positions come from `source.SourceMap`, because
tomllib gives none; a rule's RuleError offset is mapped through the string's escapes.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from reconciler.json_kinds import json_kind
from reconciler.policy.model import ManagedGroup, Policy, RuleExample
from reconciler.policy.problems import Location, Problem, Severity
from reconciler.policy.source import KeyPath, SourceMap, normalize_newlines
from reconciler.rules import RuleError, parse

GROUP_KEYS = (
    "id",
    "name",
    "rule",
    "include",
    "exclude",
    "paused",
    "max_removal_percent",
    "examples",
)
EXAMPLE_KEYS = ("name", "user", "user_file", "expect", "now")
TOP_LEVEL_KEYS = ("groups",)

_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_TOML_AT_END = re.compile(r"\s*\(at end of document\)$")

_RULE_HINTS = {
    "AttributeNotSupported": (
        "check the spelling; rules use Entra's rule names (user.mobile), not Graph's "
        "(mobilePhone); see rule-language.md §7"
    ),
    "OperatorNotSupportedOnAttribute": (
        "booleans take only -eq/-ne, dates -le/-ge/-eq, and collections need -any/-all; "
        "see the operator table in rule-language.md §4"
    ),
    "QueryCompilationError": (
        "check the quotes, the parentheses, and that -and/-or joins every pair of conditions; "
        'a regular expression must be valid (".*@contoso.com", not "*@contoso.com")'
    ),
    "InvalidObjectType": "user groups take user.* properties only; device rules are not managed",
    "RuleTooLong": "Entra limits a rule to 3,072 characters; shorten it, e.g. with -in [...] lists",
    "UnsupportedCombination": (
        "a Direct Reports or memberOf rule must stand alone, without -and/-or/-not"
    ),
}
_SINGLE_QUOTE_HINT = (
    "fix the TOML syntax at that spot; a rule that contains double quotes is easiest to write in "
    "single quotes: rule = '(user.department -eq \"Sales\")'"
)


def load_policy(path: str | os.PathLike[str]) -> Policy:
    """Load and validate a rules file. Never raises for a bad file: problems say what is wrong."""
    path = Path(path)
    file = str(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        reason = error.strerror or str(error)
        problem = Problem(
            Location(file, 0, 0),
            f"cannot read the rules file: {reason}",
            hint="pass the path of a rules file, or set RULES_FILE (see rules.sample.toml)",
        )
        return Policy(file, (), (problem,))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        before = raw[: error.start].decode("utf-8", "replace")
        line = before.count("\n") + 1
        column = len(before) - (before.rfind("\n") + 1) + 1
        problem = Problem(
            Location(file, line, column),
            "the rules file is not valid UTF-8",
            hint="save the file as UTF-8",
        )
        return Policy(file, (), (problem,))
    return loads_policy(text, file=file, base_dir=path.parent)


def loads_policy(text: str, *, file: str = "<rules>", base_dir: Path | None = None) -> Policy:
    """Validate rules-file text; `base_dir` resolves `user_file` paths (default: the cwd)."""
    return _Loader(text, file, base_dir or Path()).load()


@dataclass
class _GroupFindings:
    """Problems found while reading one group (offset, problem): about the group itself, and
    about its examples (which fail `check` but do not stop reconciliation)."""

    own: list[tuple[int, Problem]] = field(default_factory=list)
    examples: list[tuple[int, Problem]] = field(default_factory=list)


class _Loader:
    def __init__(self, text: str, file: str, base_dir: Path) -> None:
        self.text = text
        self.file = file
        self.base_dir = base_dir
        self.source: SourceMap
        self.file_problems: list[tuple[int, Problem]] = []

    # --- whole file -------------------------------------------------------------------------

    def load(self) -> Policy:
        try:
            data = tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as error:
            return Policy(self.file, (), (self._syntax_problem(error),))
        self.source = SourceMap(self.text)

        for key in data:
            if key not in TOP_LEVEL_KEYS:
                self._file_problem(
                    (key,),
                    f"unknown top-level key {key!r}",
                    _valid_keys_hint(key, TOP_LEVEL_KEYS, "at the top level"),
                    key=True,
                )

        entries = data.get("groups")
        groups: list[ManagedGroup] = []
        duplicates: list[ManagedGroup] = []
        problems: list[tuple[int, Problem]] = []
        if entries is None:
            self._file_problem(
                (),
                "the file defines no groups",
                "add a [[groups]] table per managed group (see rules.sample.toml)",
                severity="warning",
            )
        elif not isinstance(entries, list):
            self._file_problem(
                ("groups",),
                f"groups must be an array of tables ([[groups]]), not {_type_name(entries)}",
                "write each group as its own [[groups]] table",
            )
        else:
            seen: dict[str, int] = {}
            for index, entry in enumerate(entries):
                group, findings = self._group(index, entry)
                if group is not None and group.id in seen:
                    # Neither entry may be reconciled (which rule was meant is unknown): the
                    # first keeps the error too, the second is dropped.
                    first = groups[seen[group.id]]
                    offset = self.source.offset_of(("groups", index, "id"))
                    problem = Problem(
                        self._location(offset),
                        f"duplicate group id {group.id}: the group at line "
                        f"{first.location.line} has the same id",
                        "each group may appear once; merge the two entries or correct one id",
                        group_id=group.id,
                        group_name=group.name,
                    )
                    findings.own.append((offset, problem))
                    groups[seen[group.id]] = replace(first, problems=(*first.problems, problem))
                    duplicates.append(replace(group, problems=(*group.problems, problem)))
                elif group is not None:
                    if group.id:
                        seen[group.id] = len(groups)
                    groups.append(group)
                problems += findings.own + findings.examples

        problems += self.file_problems
        problems.sort(key=lambda item: item[0])
        return Policy(self.file, tuple(groups), tuple(p for _, p in problems), tuple(duplicates))

    def _syntax_problem(self, error: tomllib.TOMLDecodeError) -> Problem:
        message = str(error)
        line, column = 0, 0
        if match := _TOML_POSITION.search(message):
            line, column = int(match[1]), int(match[2])
            message = message[: match.start()]
        elif match := _TOML_AT_END.search(message):
            text = normalize_newlines(self.text)
            line = text.count("\n") + 1
            column = len(text) - (text.rfind("\n") + 1) + 1
            message = message[: match.start()] + " at the end of the file"
        return Problem(
            Location(self.file, line, column), f"TOML syntax: {message}", _SINGLE_QUOTE_HINT
        )

    def _file_problem(
        self,
        path: KeyPath,
        message: str,
        hint: str,
        *,
        key: bool = False,
        severity: Severity = "error",
    ) -> None:
        offset = self.source.offset_of(path, key=key)
        problem = Problem(self._location(offset), message, hint, severity)
        self.file_problems.append((offset, problem))

    def _location(self, offset: int) -> Location:
        line, column = self.source.line_column(offset)
        return Location(self.file, line, column)

    # --- one group --------------------------------------------------------------------------

    def _group(self, index: int, entry: object) -> tuple[ManagedGroup | None, _GroupFindings]:
        base: KeyPath = ("groups", index)
        findings = _GroupFindings()
        location = self._location(self.source.offset_of(base))
        if not isinstance(entry, dict):
            self._file_problem(
                base,
                f"each group must be a table, not {_type_name(entry)}",
                "write each group as its own [[groups]] table",
            )
            return None, findings

        group_id = self._group_id(base, entry, findings)
        name = entry.get("name")
        tag = _Tagger(self, findings, group_id or None, name if isinstance(name, str) else None)

        for key in entry:
            if key not in GROUP_KEYS:
                tag.own(
                    (*base, key),
                    f"unknown key {key!r} in group",
                    _valid_keys_hint(key, GROUP_KEYS, "in a group"),
                    key=True,
                )
        if name is not None and not isinstance(name, str):
            tag.own((*base, "name"), f"name must be a string, not {_type_name(name)}", "")
            name = None

        rule_text, rule = self._rule(base, entry, tag)
        include = self._ids(base, entry, "include", tag)
        exclude = self._ids(base, entry, "exclude", tag)
        for position, user_id in include.items():
            if user_id in exclude.values():
                tag.own(
                    (*base, "include", position),
                    f"user {user_id} is in both include and exclude; exclude wins",
                    "remove the id from one of the two lists",
                    severity="warning",
                )
        paused = entry.get("paused", False)
        if not isinstance(paused, bool):
            tag.own(
                (*base, "paused"),
                f"paused must be true or false, not {_type_name(paused)}",
                "paused = true plans the group but never writes to it",
            )
            paused = False
        max_removal = self._percent(base, entry, tag)
        examples = self._examples(base, entry, tag)

        group = ManagedGroup(
            id=group_id,
            name=name,
            rule_text=rule_text,
            rule=rule,
            location=location,
            include=frozenset(include.values()) - frozenset(exclude.values()),
            exclude=frozenset(exclude.values()),
            paused=paused,
            max_removal_percent=max_removal,
            examples=examples,
            problems=_in_order(findings.own),
            example_problems=_in_order(findings.examples),
        )
        return group, findings

    def _group_id(self, base: KeyPath, entry: dict[str, Any], findings: _GroupFindings) -> str:
        tag = _Tagger(self, findings, None, entry.get("name"))
        value = entry.get("id")
        hint = "copy the group's Object ID from the Entra admin center (Groups > the group)"
        if value is None:
            tag.own(base, "group has no id", f'add id = "<object id>"; {hint}')
            return ""
        if not isinstance(value, str):
            tag.own((*base, "id"), f"id must be a string, not {_type_name(value)}", hint)
            return ""
        if not _GUID.fullmatch(value.strip()):
            tag.own((*base, "id"), f"id {value!r} is not an object id (a GUID)", hint)
            return ""
        return value.strip().lower()

    def _rule(self, base: KeyPath, entry: dict[str, Any], tag: _Tagger) -> tuple[str, Any]:
        value = entry.get("rule")
        if value is None:
            tag.own(
                base,
                "group has no rule",
                "add rule = '...' with the membership rule; single quotes keep its double "
                "quotes readable",
            )
            return "", None
        if not isinstance(value, str):
            tag.own((*base, "rule"), f"rule must be a string, not {_type_name(value)}", "")
            return "", None
        try:
            return value, parse(value)
        except RuleError as error:
            path = (*base, "rule")
            if self.source.string_length(path) == len(value):
                offset = self.source.string_offset(path, error.position)
            else:  # the scanner disagrees with tomllib: point at the value, not a wrong column
                offset = self.source.offset_of(path)
            tag.at(
                offset,
                f"{error.kind}: {error.message}",
                error.hint or _RULE_HINTS.get(error.kind, "fix the rule"),
            )
            return value, None

    def _ids(self, base: KeyPath, entry: dict[str, Any], key: str, tag: _Tagger) -> dict[int, str]:
        """The valid ids of an include/exclude list, by their position in the list."""
        value = entry.get(key, [])
        meaning = "always members" if key == "include" else "never members"
        if not isinstance(value, list):
            tag.own(
                (*base, key),
                f"{key} must be an array of user object ids, not {_type_name(value)}",
                f'{key} = ["<user object id>", ...] lists users who are {meaning}',
            )
            return {}
        ids: dict[int, str] = {}
        for position, item in enumerate(value):
            path = (*base, key, position)
            if not isinstance(item, str) or not _GUID.fullmatch(item.strip()):
                shown = repr(item) if isinstance(item, str) else _type_name(item)
                tag.own(
                    path,
                    f"{key} entry {shown} is not a user object id (a GUID)",
                    "use the user's Object ID, not the user principal name or display name",
                )
                continue
            user_id = item.strip().lower()
            if user_id in ids.values():
                tag.own(path, f"user {user_id} is listed twice in {key}", "", severity="warning")
            ids[position] = user_id
        return ids

    def _percent(self, base: KeyPath, entry: dict[str, Any], tag: _Tagger) -> float | None:
        value = entry.get("max_removal_percent")
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
            number = isinstance(value, int | float) and not isinstance(value, bool)
            shown = repr(value) if number else _type_name(value)
            tag.own(
                (*base, "max_removal_percent"),
                f"max_removal_percent must be a number from 0 to 100, not {shown}",
                "it caps removals per run as a share of the group's members; leave it out to use "
                "MAX_REMOVAL_PERCENT",
            )
            return None
        return float(value)

    # --- examples ---------------------------------------------------------------------------

    def _examples(
        self, base: KeyPath, entry: dict[str, Any], tag: _Tagger
    ) -> tuple[RuleExample, ...]:
        value = entry.get("examples", [])
        if not isinstance(value, list):
            tag.example(
                (*base, "examples"),
                f"examples must be an array of tables ([[groups.examples]]), not "
                f"{_type_name(value)}",
                "write each example as its own [[groups.examples]] table after its group",
            )
            return ()
        examples = []
        for index, item in enumerate(value):
            example = self._example((*base, "examples", index), item, tag)
            if example is not None:
                examples.append(example)
        return tuple(examples)

    def _example(self, path: KeyPath, item: object, tag: _Tagger) -> RuleExample | None:
        if not isinstance(item, dict):
            tag.example(path, f"an example must be a table, not {_type_name(item)}", "")
            return None
        problems_before = len(tag.findings.examples)
        for key in item:
            if key not in EXAMPLE_KEYS:
                tag.example(
                    (*path, key),
                    f"unknown key {key!r} in example",
                    _valid_keys_hint(key, EXAMPLE_KEYS, "in an example"),
                    key=True,
                )
        expect = item.get("expect")
        if not isinstance(expect, bool):
            where = (*path, "expect") if "expect" in item else path
            what = "has no expect" if expect is None else f"expect is {_type_name(expect)}"
            tag.example(
                where, f"example {what}; it must be true or false", "add expect = true or false"
            )
        name = item.get("name")
        if name is not None and not isinstance(name, str):
            tag.example((*path, "name"), f"name must be a string, not {_type_name(name)}", "")
            name = None
        now = self._example_now(path, item, tag)
        user, source = self._example_user(path, item, tag)
        if user is None or len(tag.findings.examples) > problems_before:
            return None
        return RuleExample(
            user=user,
            expect=bool(expect),
            location=self._location(self.source.offset_of(path)),
            name=name,
            source=source,
            now=now,
        )

    def _example_user(
        self, path: KeyPath, item: dict[str, Any], tag: _Tagger
    ) -> tuple[dict[str, Any] | None, str]:
        user, user_file = item.get("user"), item.get("user_file")
        hint = 'give user = { department = "Sales", ... } or user_file = "examples/ana.json"'
        if (user is None) == (user_file is None):
            what = "both user and user_file" if user is not None else "neither user nor user_file"
            tag.example(path, f"example has {what}", hint)
            return None, ""
        if user is not None:
            if not isinstance(user, dict):
                tag.example((*path, "user"), f"user must be a table, not {_type_name(user)}", hint)
                return None, ""
            return _graph_json(user), "inline"
        if not isinstance(user_file, str):
            what = _type_name(user_file)
            tag.example((*path, "user_file"), f"user_file must be a string, not {what}", hint)
            return None, ""
        json_path = self.base_dir / user_file
        try:
            text = json_path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or str(error)
            tag.example(
                (*path, "user_file"),
                f"cannot read example user file {str(json_path)!r}: {reason}",
                "user_file paths are relative to the rules file",
            )
            return None, ""
        shown = str(json_path)
        try:
            user = json.loads(text)
        except json.JSONDecodeError as error:
            tag.foreign(
                (*path, "user_file"),
                Location(shown, error.lineno, error.colno),
                f"invalid JSON in example user file: {error.msg}",
                "the file must hold one Graph user object, e.g. "
                '{"id": "...", "department": "Sales", "accountEnabled": true}',
            )
            return None, ""
        if not isinstance(user, dict):
            tag.foreign(
                (*path, "user_file"),
                Location(shown, 1, 1),
                f"example user file holds {type(user).__name__}, not a JSON object",
                "the file must hold one Graph user object, as GET /users/{id} returns it",
            )
            return None, ""
        return user, user_file

    def _example_now(self, path: KeyPath, item: dict[str, Any], tag: _Tagger) -> datetime | None:
        value = item.get("now")
        if value is None:
            return None
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                value = None
        if isinstance(value, datetime):
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        if isinstance(value, date):
            return datetime.combine(value, time(), UTC)
        tag.example(
            (*path, "now"),
            "now must be a date-time",
            "now = 2025-01-15T00:00:00Z pins system.now for this example (a time without a zone "
            "is UTC)",
        )
        return None


@dataclass
class _Tagger:
    """Records problems of one group, with the group's id and name attached."""

    loader: _Loader
    findings: _GroupFindings
    group_id: str | None
    group_name: str | None

    def own(
        self,
        path: KeyPath,
        message: str,
        hint: str,
        *,
        key: bool = False,
        severity: Severity = "error",
    ) -> None:
        self.at(self.loader.source.offset_of(path, key=key), message, hint, severity=severity)

    def at(self, offset: int, message: str, hint: str, *, severity: Severity = "error") -> None:
        problem = self._problem(self.loader._location(offset), message, hint, severity)
        self.findings.own.append((offset, problem))

    def example(self, path: KeyPath, message: str, hint: str, *, key: bool = False) -> None:
        offset = self.loader.source.offset_of(path, key=key)
        problem = self._problem(self.loader._location(offset), message, hint, "error")
        self.findings.examples.append((offset, problem))

    def foreign(self, path: KeyPath, location: Location, message: str, hint: str) -> None:
        """A problem inside another file, sorted where the rules file refers to it."""
        offset = self.loader.source.offset_of(path)
        self.findings.examples.append((offset, self._problem(location, message, hint, "error")))

    def _problem(self, location: Location, message: str, hint: str, severity: Severity) -> Problem:
        return Problem(location, message, hint, severity, self.group_id, self.group_name)


def _in_order(found: list[tuple[int, Problem]]) -> tuple[Problem, ...]:
    return tuple(problem for _, problem in sorted(found, key=lambda item: item[0]))


def _valid_keys_hint(key: str, valid: tuple[str, ...], where: str) -> str:
    close = difflib.get_close_matches(key, valid, n=1)
    guess = f"did you mean {close[0]!r}? " if close else ""
    return f"{guess}valid keys {where}: {', '.join(valid)}"


def _type_name(value: object) -> str:
    """TOML's words where they differ from JSON's: a table, a date-time."""
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, datetime | date | time):
        return "a date-time"
    return json_kind(value)


def _graph_json(value: Any) -> Any:
    """TOML values as Graph JSON has them: date-times become ISO-8601 strings ("...Z")."""
    if isinstance(value, dict):
        return {k: _graph_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_graph_json(v) for v in value]
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date | time):
        return value.isoformat()
    return value
