"""Bad rules files: every mistake is located (file, line, column) and a broken group never
stops the others from being reconciled."""

from __future__ import annotations

import tomllib
from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from harness.fuzz_inputs import mutated_rules
from reconciler.policy import loads_policy
from reconciler.service import reconcile_all
from reconciler.settings import Settings
from tests.memory_directory import MemoryDirectory

GOOD_A = "10000000-0000-4000-8000-000000000001"
BROKEN = "10000000-0000-4000-8000-000000000002"
GOOD_B = "10000000-0000-4000-8000-000000000003"


def uid(n: int) -> str:
    return f"20000000-0000-4000-8000-{n:012d}"


def rules(broken_rule: str) -> str:
    quoted = broken_rule.replace("'''", "")
    return f"""
[[groups]]
id = "{GOOD_A}"
name = "Sales"
rule = 'user.department -eq "Sales"'

[[groups]]
id = "{BROKEN}"
name = "Broken"
rule = '''{quoted}'''

[[groups]]
id = "{GOOD_B}"
name = "Engineering"
rule = 'user.department -eq "Engineering"'
"""


def assert_located(policy, text: str) -> None:
    lines = text.splitlines()
    for problem in policy.problems:
        assert problem.file == "rules.toml"
        assert problem.message
        if problem.line:  # 0 only when the file as a whole could not be read
            assert 1 <= problem.line <= len(lines) + 1, problem
            assert problem.column >= 1, problem


@given(
    broken=mutated_rules()
    | st.text(max_size=80)
    | st.sampled_from(['user.departmnt -eq "x"', "(", 'user.department -match "["', ""])
)
def test_every_problem_in_a_fuzzed_file_has_a_file_line_and_column(broken: str) -> None:
    text = rules(broken)
    policy = loads_policy(text, file="rules.toml")
    assert_located(policy, text)
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return  # e.g. a control character: the file itself is not TOML (located above)
    assert {g.id for g in policy.usable_groups} >= {GOOD_A, GOOD_B}


@given(text=st.text(max_size=300))
def test_garbage_files_give_located_problems_not_exceptions(text: str) -> None:
    policy = loads_policy(text, file="rules.toml")
    assert_located(policy, text)


async def test_a_broken_group_does_not_stop_the_others_from_being_written() -> None:
    text = rules('(user.department -eq "Sales") -and (user.jobTitel -eq "x"')
    policy = loads_policy(text, file="rules.toml")
    [error] = [p for p in policy.errors if p.group_id == BROKEN] or policy.errors[:1]
    assert (error.file, error.line) == ("rules.toml", 10) and error.column > 1
    users = [{"id": uid(n), "department": "Sales"} for n in range(3)]
    users += [{"id": uid(100 + n), "department": "Engineering"} for n in range(2)]
    directory = MemoryDirectory(users)
    for group_id in (GOOD_A, BROKEN, GOOD_B):
        directory.add_group(group_id)
    directory.put_member(BROKEN, uid(100))  # must stay: nothing acts on a broken group
    await reconcile_all(directory, policy, replace(Settings(graph_static_token="t")))
    assert directory.member_ids(GOOD_A) == {uid(n) for n in range(3)}
    assert directory.member_ids(GOOD_B) == {uid(100), uid(101)}
    assert directory.member_ids(BROKEN) == {uid(100)}
    assert not [w for w in directory.writes if w[1] == BROKEN]
