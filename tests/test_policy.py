"""The rules file: loading, validation with exact file:line:column, examples."""

from __future__ import annotations

import json
import string
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.policy import Policy, Problem, load_policy, run_examples
from reconciler.policy.source import SourceMap

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
GROUP = "10000000-0000-4000-8000-000000000001"
USER = "20000000-0000-4000-8000-000000000001"


def write(tmp_path: Path, text: str, files: dict[str, str] | None = None) -> Path:
    """A rules file (and any example files) in tmp_path; returns the rules file's path."""
    for name, content in (files or {}).items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    rules = tmp_path / "rules.toml"
    rules.write_text(text, encoding="utf-8")
    return rules


def load(tmp_path: Path, text: str, files: dict[str, str] | None = None) -> Policy:
    return load_policy(write(tmp_path, text, files))


def where(policy: Policy) -> list[tuple[int, int, str]]:
    """(line, column, message) of every problem, in the order reported."""
    return [(p.line, p.column, p.message) for p in policy.problems]


def only(policy: Policy) -> Problem:
    assert len(policy.problems) == 1, [str(p) for p in policy.problems]
    return policy.problems[0]


def group_text(rule: str = "'user.department -eq \"Sales\"'", extra: str = "") -> str:
    return f'[[groups]]\nid = "{GROUP}"\nname = "Sales"\nrule = {rule}\n{extra}'


# --- the sample file and the happy path ---------------------------------------------------


def test_sample_rules_file_has_no_problems_and_every_example_passes() -> None:
    policy = load_policy(REPO / "rules.sample.toml")

    assert policy.problems == ()
    assert len(policy.groups) >= 8
    assert [g.id for g in policy.groups] == [
        f"10000000-0000-4000-8000-0000000000{n:02d}" for n in range(1, 12)
    ]
    for group in policy.groups:
        assert group.ok and group.examples, group.display_name
        results = run_examples(group)
        assert [r.passed for r in results] == [True] * len(group.examples), group.display_name


def test_sample_all_users_group_is_paused_with_an_exclude_list() -> None:
    group = load_policy(REPO / "rules.sample.toml").group("10000000-0000-4000-8000-000000000011")

    assert group is not None
    assert group.paused is True
    assert group.max_removal_percent == 5.0
    assert "20000000-0000-4000-8000-000000000901" in group.exclude


def test_a_valid_group_loads_every_field(tmp_path: Path) -> None:
    policy = load(
        tmp_path,
        group_text(
            extra=f'include = ["{USER.upper()}"]\n'
            'exclude = ["20000000-0000-4000-8000-000000000002"]\n'
            "paused = true\nmax_removal_percent = 12.5\n",
        ),
    )

    assert policy.problems == ()
    (group,) = policy.groups
    assert group.id == GROUP
    assert group.name == "Sales"
    assert group.rule_text == 'user.department -eq "Sales"'
    assert group.rule is not None and group.rule.matches({"department": "sales"})
    assert group.include == frozenset({USER})  # ids are lower-cased
    assert group.exclude == frozenset({"20000000-0000-4000-8000-000000000002"})
    assert group.paused is True
    assert group.max_removal_percent == 12.5
    assert (group.location.line, group.location.column) == (1, 1)
    assert policy.usable_groups == (group,)
    assert policy.group(GROUP.upper()) is group


def test_defaults_when_optional_keys_are_absent(tmp_path: Path) -> None:
    (group,) = load(
        tmp_path, f"[[groups]]\nid = \"{GROUP}\"\nrule = 'user.objectId -ne null'\n"
    ).groups

    assert (group.name, group.include, group.exclude) == (None, frozenset(), frozenset())
    assert (group.paused, group.max_removal_percent, group.examples) == (False, None, ())
    assert group.display_name == GROUP


# --- TOML syntax -------------------------------------------------------------------------


def test_toml_syntax_error_reports_tomllib_line_and_column(tmp_path: Path) -> None:
    # Double quotes inside a basic string end it early: the classic mistake.
    rules = write(tmp_path, group_text(rule='"(user.department -eq "Sales")"'))
    with pytest.raises(tomllib.TOMLDecodeError) as raised:
        tomllib.loads(rules.read_text())

    problem = only(load_policy(rules))

    assert f"(at line {problem.line}, column {problem.column})" in str(raised.value)
    assert (problem.line, problem.column) == (4, 31)  # the S right after the early quote
    assert problem.message.startswith("TOML syntax: ")
    assert "(at line" not in problem.message
    assert "single quotes" in problem.hint


def test_toml_syntax_error_at_the_end_of_the_file(tmp_path: Path) -> None:
    problem = only(load(tmp_path, "[[groups]]\nid = "))

    assert (problem.line, problem.column) == (2, 6)
    assert problem.message.startswith("TOML syntax: ")


def test_unreadable_file_is_a_problem_for_the_whole_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    problem = only(load_policy(missing))

    assert problem.line == 0
    assert str(problem).startswith(f"{missing}: cannot read the rules file: ")
    assert "RULES_FILE" in problem.hint


def test_file_that_is_not_utf8_reports_where(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_bytes(b'[[groups]]\nname = "Caf\xe9"\n')

    problem = only(load_policy(rules))

    assert (problem.line, problem.column) == (2, 12)
    assert "UTF-8" in problem.message


# --- ids --------------------------------------------------------------------------------


def test_missing_id_points_at_the_group_header(tmp_path: Path) -> None:
    policy = load(tmp_path, "\n\n[[groups]]\nrule = 'user.objectId -ne null'\n")

    assert where(policy) == [(3, 1, "group has no id")]
    assert policy.groups[0].ok is False
    assert policy.usable_groups == ()


def test_id_that_is_not_a_guid_points_at_the_value(tmp_path: Path) -> None:
    policy = load(tmp_path, "[[groups]]\nid   =  'Sales team'\nrule = 'user.objectId -ne null'\n")

    assert where(policy) == [(2, 9, "id 'Sales team' is not an object id (a GUID)")]
    assert "Object ID" in policy.problems[0].hint


def test_id_of_the_wrong_type(tmp_path: Path) -> None:
    policy = load(tmp_path, "[[groups]]\nid = 42\nrule = 'user.objectId -ne null'\n")

    assert where(policy) == [(2, 6, "id must be a string, not a number")]


def test_duplicate_id_is_reported_at_the_second_and_neither_group_is_usable(
    tmp_path: Path,
) -> None:
    text = group_text() + "\n" + group_text(rule="'user.department -eq \"Marketing\"'")
    policy = load(tmp_path, text)

    assert where(policy) == [
        (7, 6, f"duplicate group id {GROUP}: the group at line 1 has the same id")
    ]
    assert len(policy.groups) == 1
    assert policy.groups[0].rule_text == 'user.department -eq "Sales"'
    assert policy.usable_groups == ()


def test_duplicate_id_is_found_regardless_of_case(tmp_path: Path) -> None:
    lower = "aaaaaaaa-0000-4000-8000-00000000000b"
    text = group_text().replace(GROUP, lower) + "\n" + group_text().replace(GROUP, lower.upper())
    policy = load(tmp_path, text)

    assert [m for _, _, m in where(policy)] == [
        f"duplicate group id {lower}: the group at line 1 has the same id"
    ]


# --- rules and their positions ------------------------------------------------------------


def test_missing_rule(tmp_path: Path) -> None:
    policy = load(tmp_path, f'[[groups]]\nid = "{GROUP}"\n')

    assert where(policy) == [(1, 1, "group has no rule")]
    assert policy.groups[0].rule is None


def test_rule_of_the_wrong_type(tmp_path: Path) -> None:
    policy = load(tmp_path, group_text(rule="['user.objectId -ne null']"))

    assert where(policy) == [(4, 8, "rule must be a string, not an array")]


def test_rule_error_in_a_literal_string_maps_to_the_file_column(tmp_path: Path) -> None:
    # 'user.departmnt' starts at offset 35 of the rule; the value's first character is column 9.
    rule = '\'(user.department -eq "Sales") -and user.departmnt -eq "x"\''
    policy = load(tmp_path, group_text(rule=rule))

    problem = only(policy)
    assert (problem.file, problem.line, problem.column) == (str(tmp_path / "rules.toml"), 4, 44)
    assert problem.message.startswith("AttributeNotSupported: user.departmnt")
    assert problem.group_id == GROUP and problem.group_name == "Sales"
    assert policy.groups[0].rule is None and policy.groups[0].rule_text.startswith("(user")


def test_rule_error_after_escapes_in_a_basic_string(tmp_path: Path) -> None:
    # Decoded, user.colour is at offset 32; the two \" and two \u00e9 escapes add 12 source
    # characters before it, and the value starts at column 9: 9 + 32 + 12 = 53.
    rule = r'"user.jobTitle -eq \"R\u00e9sum\u00e9\" -and user.colour -eq \"x\""'
    problem = only(load(tmp_path, group_text(rule=rule)))

    assert (problem.line, problem.column) == (4, 53)
    assert "user.colour" in problem.message


def test_rule_error_inside_a_multiline_literal_string(tmp_path: Path) -> None:
    rule = "'''\n(user.department -eq \"Sales\")\n  -and (user.jobTitel -eq \"Manager\")\n'''"
    problem = only(load(tmp_path, group_text(rule=rule)))

    # The newline after ''' is trimmed; the rule's second line is the file's line 6.
    assert (problem.line, problem.column) == (6, 9)
    assert problem.message.startswith("AttributeNotSupported: user.jobTitel")


def test_rule_error_inside_a_multiline_basic_string_with_a_line_ending_backslash(
    tmp_path: Path,
) -> None:
    # The backslash joins the lines and swallows the indentation, so "-and" follows directly.
    rule = '"""\nuser.department -eq "Sales" \\\n      -and user.mobilePhone -eq "1"\n"""'
    problem = only(load(tmp_path, group_text(rule=rule)))

    assert (problem.line, problem.column) == (6, 12)
    assert "user.mobilePhone" in problem.message


def test_rule_error_at_the_end_of_the_rule_points_at_the_closing_quote(tmp_path: Path) -> None:
    problem = only(load(tmp_path, group_text(rule="'user.department -eq'")))

    assert (problem.line, problem.column) == (4, 28)
    assert problem.message.startswith("QueryCompilationError: ")


def test_rule_positions_survive_windows_line_endings(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    text = "# crlf\n" + group_text(rule="'user.colour -eq \"x\"'")
    rules.write_bytes(text.replace("\n", "\r\n").encode())

    problem = only(load_policy(rules))

    assert (problem.line, problem.column) == (5, 9)


def test_rule_error_hint_names_the_fix_for_its_kind(tmp_path: Path) -> None:
    policy = load(tmp_path, group_text(rule="'user.accountEnabled -contains true'"))

    assert only(policy).message.startswith("OperatorNotSupportedOnAttribute: ")
    assert "-any/-all" in only(policy).hint


# --- other keys ---------------------------------------------------------------------------


def test_unknown_key_names_the_valid_keys_and_the_likely_one(tmp_path: Path) -> None:
    problem = only(load(tmp_path, group_text(extra="  exlude = []\n")))

    assert (problem.line, problem.column, problem.message) == (
        5,
        3,
        "unknown key 'exlude' in group",
    )
    assert problem.hint.startswith("did you mean 'exclude'? valid keys in a group: id, name, rule")


def test_unknown_top_level_key(tmp_path: Path) -> None:
    policy = load(tmp_path, "version = 2\n" + group_text())

    assert where(policy) == [(1, 1, "unknown top-level key 'version'")]
    assert "groups" in policy.problems[0].hint
    assert policy.groups[0].ok  # the group itself is fine


def test_groups_that_is_not_an_array_of_tables(tmp_path: Path) -> None:
    policy = load(tmp_path, f'[groups]\nid = "{GROUP}"\n')

    assert where(policy) == [(1, 1, "groups must be an array of tables ([[groups]]), not a table")]


def test_file_without_groups_is_a_warning(tmp_path: Path) -> None:
    problem = only(load(tmp_path, "# nothing yet\n"))

    assert problem.severity == "warning"
    assert str(problem).startswith(f"{tmp_path / 'rules.toml'}:1:1: warning: the file defines no")


@pytest.mark.parametrize(
    ("extra", "column", "message"),
    [
        ('include = "x"', 11, "include must be an array of user object ids, not a string"),
        ("exclude = 7", 11, "exclude must be an array of user object ids, not a number"),
        ('paused = "yes"', 10, "paused must be true or false, not a string"),
        (
            "max_removal_percent = 101",
            23,
            "max_removal_percent must be a number from 0 to 100, not 101",
        ),
        (
            "max_removal_percent = -1",
            23,
            "max_removal_percent must be a number from 0 to 100, not -1",
        ),
        (
            "max_removal_percent = true",
            23,
            "max_removal_percent must be a number from 0 to 100, not a boolean",
        ),
        (
            "max_removal_percent = '5'",
            23,
            "max_removal_percent must be a number from 0 to 100, not a string",
        ),
    ],
)
def test_wrong_types_point_at_the_value(
    tmp_path: Path, extra: str, column: int, message: str
) -> None:
    policy = load(tmp_path, group_text(extra=extra + "\n"))

    assert where(policy) == [(5, column, message)]
    assert policy.usable_groups == ()


def test_name_of_the_wrong_type(tmp_path: Path) -> None:
    policy = load(
        tmp_path, f"[[groups]]\nid = \"{GROUP}\"\nname = 3\nrule = 'user.objectId -ne null'\n"
    )

    assert where(policy) == [(3, 8, "name must be a string, not a number")]


def test_max_removal_percent_accepts_integers_and_the_bounds(tmp_path: Path) -> None:
    for value in ("0", "100", "20"):
        policy = load(tmp_path, group_text(extra=f"max_removal_percent = {value}\n"))
        assert policy.problems == ()
        assert policy.groups[0].max_removal_percent == float(value)


def test_include_entries_that_are_not_guids_point_at_the_entry(tmp_path: Path) -> None:
    extra = f'include = [\n  "{USER}",\n  "ana@contoso.com",\n  3,\n]\n'
    policy = load(tmp_path, group_text(extra=extra))

    assert where(policy) == [
        (7, 3, "include entry 'ana@contoso.com' is not a user object id (a GUID)"),
        (8, 3, "include entry a number is not a user object id (a GUID)"),
    ]
    assert policy.groups[0].include == frozenset({USER})
    assert policy.groups[0].ok is False


def test_id_in_include_and_exclude_warns_and_exclude_wins(tmp_path: Path) -> None:
    extra = f'include = ["{USER}"]\nexclude = ["{USER}"]\n'
    policy = load(tmp_path, group_text(extra=extra))

    problem = only(policy)
    assert (problem.severity, problem.line, problem.column) == ("warning", 5, 12)
    assert problem.message == f"user {USER} is in both include and exclude; exclude wins"
    group = policy.groups[0]
    assert (group.include, group.exclude) == (frozenset(), frozenset({USER}))
    assert group.ok  # a warning does not stop the group
    assert policy.ok


def test_every_problem_is_reported_not_only_the_first(tmp_path: Path) -> None:
    text = "[[groups]]\nid = 'x'\nrule = 'user.colour -eq 1'\npaused = 1\ncolour = 'red'\n"
    policy = load(tmp_path, text)

    assert [(line, col) for line, col, _ in where(policy)] == [(2, 6), (3, 9), (4, 10), (5, 1)]


def test_broken_fixture_reports_each_problem_and_keeps_the_good_group() -> None:
    policy = load_policy(FIXTURES / "rules.broken.toml")
    found = {(p.file.rsplit("/", 1)[-1], p.line, p.column, p.severity) for p in policy.problems}

    assert found == {
        ("rules.broken.toml", 15, 6, "error"),  # id not a GUID
        ("rules.broken.toml", 18, 1, "error"),  # unknown key exlude
        ("rules.broken.toml", 25, 9, "error"),  # rule error in a multi-line string
        ("rules.broken.toml", 31, 53, "error"),  # rule error after escapes
        ("rules.broken.toml", 37, 12, "warning"),  # in include and exclude
        ("rules.broken.toml", 37, 52, "error"),  # include entry not a GUID
        ("rules.broken.toml", 39, 10, "error"),  # paused not a boolean
        ("rules.broken.toml", 40, 23, "error"),  # max_removal_percent out of range
        ("rules.broken.toml", 43, 6, "error"),  # duplicate id
        ("rules.broken.toml", 47, 1, "error"),  # no id (and no rule: two problems)
        ("rules.broken.toml", 56, 13, "error"),  # example file missing
        ("bad.json", 3, 21, "error"),  # example file with bad JSON
        ("rules.broken.toml", 63, 1, "error"),  # example without expect
        ("rules.broken.toml", 69, 1, "error"),  # unknown example key
    }
    assert len(policy.problems) == 15
    assert [g.display_name for g in policy.usable_groups] == ["Broken examples"]
    good = policy.groups[0]
    assert good.rule is not None and len(good.examples) == 1  # loaded despite its neighbours


# --- problems as text ---------------------------------------------------------------------


def test_problem_text_is_file_line_column_message_and_hint(tmp_path: Path) -> None:
    problem = only(load(tmp_path, group_text(extra="paused = 'no'\n")))

    assert str(problem) == (
        f"{tmp_path / 'rules.toml'}:5:10: paused must be true or false, not a string\n"
        "  hint: paused = true plans the group but never writes to it"
    )
    assert problem.to_dict()["groupId"] == GROUP


# --- examples -----------------------------------------------------------------------------


def examples_text(*examples: str, rule: str = "'user.department -eq \"Sales\"'") -> str:
    return group_text(rule=rule) + "".join(f"\n[[groups.examples]]\n{e}\n" for e in examples)


def test_inline_examples_pass_and_fail(tmp_path: Path) -> None:
    policy = load(
        tmp_path,
        examples_text(
            'name = "sales"\nuser = { department = "Sales" }\nexpect = true',
            'user = { department = "Sales" }\nexpect = false',
        ),
    )

    assert policy.problems == ()
    passing, failing = run_examples(policy.groups[0])
    assert (passing.passed, passing.actual, passing.explanation) == (True, True, None)
    assert (failing.passed, failing.actual) == (False, True)
    assert failing.explanation is not None and failing.explanation.result is True
    assert failing.example.location.line == 11
    assert passing.example.label == "sales" and failing.example.label == "inline user"


def test_user_file_is_relative_to_the_rules_file(tmp_path: Path) -> None:
    user = {"id": USER, "department": "Sales"}
    policy = load(
        tmp_path,
        examples_text('user_file = "examples/ana.json"\nexpect = true'),
        {"examples/ana.json": json.dumps(user)},
    )
    (example,) = policy.groups[0].examples

    assert (example.user, example.source) == (user, "examples/ana.json")
    assert [r.passed for r in run_examples(policy.groups[0])] == [True]


def test_missing_user_file_points_at_the_path_in_the_rules_file(tmp_path: Path) -> None:
    policy = load(tmp_path, examples_text('user_file = "examples/nobody.json"\nexpect = true'))

    problem = only(policy)
    assert (problem.file, problem.line, problem.column) == (str(tmp_path / "rules.toml"), 7, 13)
    assert "examples/nobody.json" in problem.message
    assert policy.groups[0].examples == ()
    assert policy.groups[0].ok  # a broken example fails `check`, not the group's reconciliation
    assert policy.groups[0].example_problems == (problem,)


def test_bad_json_in_a_user_file_points_into_the_json_file(tmp_path: Path) -> None:
    policy = load(
        tmp_path,
        examples_text('user_file = "u.json"\nexpect = true'),
        {"u.json": '{\n  "department": "Sales",\n  "accountEnabled": tru\n}\n'},
    )

    problem = only(policy)
    assert (problem.file, problem.line, problem.column) == (str(tmp_path / "u.json"), 3, 21)
    assert problem.message == "invalid JSON in example user file: Expecting value"


def test_user_file_that_is_not_an_object(tmp_path: Path) -> None:
    policy = load(
        tmp_path, examples_text('user_file = "u.json"\nexpect = true'), {"u.json": "[1, 2]"}
    )

    problem = only(policy)
    assert (problem.file, problem.line, problem.column) == (str(tmp_path / "u.json"), 1, 1)
    assert "not a JSON object" in problem.message


@pytest.mark.parametrize(
    ("example", "line", "column", "message"),
    [
        ('user = { department = "x" }', 6, 1, "example has no expect; it must be true or false"),
        (
            'user = {}\nexpect = "yes"',
            8,
            10,
            "example expect is a string; it must be true or false",
        ),
        ("expect = true", 6, 1, "example has neither user nor user_file"),
        (
            'user = {}\nuser_file = "u.json"\nexpect = true',
            6,
            1,
            "example has both user and user_file",
        ),
        ('user = "ana"\nexpect = true', 7, 8, "user must be a table, not a string"),
        ("user = {}\nexpect = true\nwho = 1", 9, 1, "unknown key 'who' in example"),
        ("user = {}\nexpect = true\nnow = 5", 9, 7, "now must be a date-time"),
    ],
)
def test_example_problems_point_at_the_example(
    tmp_path: Path, example: str, line: int, column: int, message: str
) -> None:
    policy = load(tmp_path, examples_text(example))

    assert where(policy) == [(line, column, message)]
    assert policy.groups[0].examples == ()


def test_examples_as_a_plain_table_are_reported(tmp_path: Path) -> None:
    text = group_text() + "\n[groups.examples]\nexpect = true\n"
    policy = load(tmp_path, text)

    assert where(policy) == [
        (6, 1, "examples must be an array of tables ([[groups.examples]]), not a table")
    ]


def test_now_pins_system_now_for_date_rules(tmp_path: Path) -> None:
    rule = "'user.employeeHireDate -ge system.now -minus P30D'"
    user = "user = { employeeHireDate = 2025-01-01T00:00:00Z }"  # a TOML date-time
    policy = load(
        tmp_path,
        examples_text(
            f"{user}\nnow = 2025-01-15T00:00:00Z\nexpect = true",
            f'{user}\nnow = "2025-06-01T00:00:00+02:00"\nexpect = false',
            f"{user}\nnow = 2025-01-20\nexpect = true",
            rule=rule,
        ),
    )

    assert policy.problems == ()
    first, second, third = policy.groups[0].examples
    assert first.user == {"employeeHireDate": "2025-01-01T00:00:00Z"}  # as Graph sends it
    assert first.now == datetime(2025, 1, 15, tzinfo=UTC)
    assert second.now == datetime(2025, 5, 31, 22, tzinfo=UTC)
    assert third.now == datetime(2025, 1, 20, tzinfo=UTC)
    assert [r.passed for r in run_examples(policy.groups[0])] == [True, True, True]


def test_examples_of_a_group_whose_rule_is_broken_do_not_run(tmp_path: Path) -> None:
    policy = load(tmp_path, examples_text("user = {}\nexpect = true", rule="'user.x -eq 1'"))

    assert len(policy.groups[0].examples) == 1
    assert run_examples(policy.groups[0]) == ()


# --- the source map -----------------------------------------------------------------------

_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)),
    max_size=40,
)


def _basic(value: str) -> str:
    """A TOML basic string for `value`, escaping what must be escaped (and some that may)."""
    out = []
    for c in value:
        if c in '"\\':
            out.append("\\" + c)
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif ord(c) < 0x20 or c == "\x7f":
            out.append(f"\\u{ord(c):04x}")
        elif c in "éß":
            out.append(f"\\U{ord(c):08X}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


@given(_TEXT, _TEXT)
def test_each_decoded_character_maps_to_the_source_that_produced_it(
    before: str, value: str
) -> None:
    text = f"# {before!r}\n[[groups]]\nrule = {_basic(value)}\n"
    decoded = tomllib.loads(text)["groups"][0]["rule"]
    source = SourceMap(text)
    path = ("groups", 0, "rule")

    assert source.string_length(path) == len(decoded)
    for i, char in enumerate(decoded):
        start, end = source.string_offset(path, i), source.string_offset(path, i + 1)
        assert tomllib.loads(f'x = "{text[start:end]}"')["x"] == char


@given(st.text(alphabet=string.ascii_letters + " \"'\\\n", max_size=30))
def test_literal_multiline_strings_map_one_to_one(value: str) -> None:
    value = value.replace("'''", "")
    text = f"[[groups]]\nrule = '''\n{value}'''\n"
    decoded = tomllib.loads(text)["groups"][0]["rule"]
    source = SourceMap(text)
    path = ("groups", 0, "rule")

    assert source.string_length(path) == len(decoded)
    for i, char in enumerate(decoded):
        assert source.text[source.string_offset(path, i)] == char


def test_source_map_places_values_in_inline_tables_arrays_and_nested_tables() -> None:
    text = (
        "a.b = { c = [1, { d = 'x' }] }\n"
        "[[t]]\n[[t.u]]\nv = 1\n[[t]]\n[[t.u]]\n[[t.u]]\n  v = 2\n"
        '"quoted key" = """\nml\\\n   x"""\n'
    )
    source = SourceMap(text)

    assert source.line_column(source.offset_of(("a", "b", "c", 1, "d"))) == (1, 23)
    assert source.line_column(source.offset_of(("t", 1, "u", 1, "v"))) == (8, 7)
    assert source.line_column(source.offset_of(("t", 1, "u", 1, "v"), key=True)) == (8, 3)
    assert source.line_column(source.offset_of(("t", 1, "u", 1, "missing"))) == (7, 1)
    assert source.string_length(("t", 1, "u", 1, "quoted key")) == len("mlx")
