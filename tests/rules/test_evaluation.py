"""Evaluation details the corpus does not pin down: explain, $select, time bounds, dates."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import regex
from hypothesis import given
from hypothesis import strategies as st

from reconciler.rules import RuleError, parse

SALES_RULE = '(user.department -eq "Sales") -and (user.accountEnabled -eq true)'


def test_explain_traces_every_clause_with_value_operand_and_result() -> None:
    explanation = parse(SALES_RULE).explain({"department": "Sales", "accountEnabled": False})
    assert explanation.result is False
    assert explanation.clauses == [
        {
            "text": 'user.department -eq "Sales"',
            "property": "user.department",
            "graph_property": "department",
            "value": "Sales",
            "operator": "-eq",
            "operand": '"Sales"',
            "result": True,
        },
        {
            "text": "user.accountEnabled -eq true",
            "property": "user.accountEnabled",
            "graph_property": "accountEnabled",
            "value": False,
            "operator": "-eq",
            "operand": "true",
            "result": False,
        },
    ]
    text = str(explanation)
    assert text.startswith("NO MATCH: ")
    assert '✓ user.department -eq "Sales"' in text and "✗ user.accountEnabled" in text


def test_explain_names_the_graph_source_when_it_differs() -> None:
    explanation = parse('user.mobile -eq "+1 555"').explain({"mobilePhone": "+1 555"})
    assert explanation.clauses[0]["graph_property"] == "mobilePhone"
    assert "mobile = Graph mobilePhone" in str(explanation)


def test_explanation_data_is_json_serialisable() -> None:
    import json

    rule = parse("user.employeeHireDate -ge system.now -minus P30D")
    data = rule.explain({"employeeHireDate": "2025-01-01T00:00:00Z"}, datetime.now(UTC)).to_dict()
    assert json.loads(json.dumps(data))["clauses"][0]["operator"] == "-ge"


def test_select_lists_graph_names_and_what_else_to_fetch() -> None:
    rule = parse(
        '(user.telephoneNumber -eq "1") -or (user.extension_c272a57b722d4eb29bfe327874ae79cb'
        '_OfficeNumber -eq "2") -or (user.physicalDeliveryOfficeName -eq "3") -or '
        '(user.assignedPlans -any (assignedPlan.service -eq "SCO"))'
    )
    assert rule.select == {
        "id",
        "businessPhones",
        "extension_c272a57b722d4eb29bfe327874ae79cb_OfficeNumber",
        "officeLocation",
        "assignedPlans",
    }
    assert not rule.needs_manager and not rule.needs_member_of
    member_of = parse(
        "user.memberOf -any (group.objectId -in ['5f2c1a8e-3b7d-4c11-9a0e-1d2f3a4b5c6d'])"
    )
    assert member_of.needs_member_of and member_of.select == {"id"}


def test_catastrophic_regex_is_bounded_and_ends_in_a_clear_error() -> None:
    rule = parse('user.displayName -match "(x+x+)+y"', regex_timeout=0.05)
    started = time.monotonic()
    with pytest.raises(RuleError) as caught:
        rule.matches({"displayName": "y" + "x" * 5000})
    assert time.monotonic() - started < 2.0  # hang detector; the bound itself is 50 ms
    assert caught.value.kind == "RegexTimeout"
    assert "(x+x+)+y" in caught.value.message


def test_explain_marks_a_timed_out_clause_undecided() -> None:
    rule = parse('user.displayName -match "(x+x+)+y" -or user.city -eq "x"', regex_timeout=0.02)
    explanation = rule.explain({"displayName": "y" + "x" * 5000, "city": "y"})
    assert explanation.result is None
    assert explanation.traces[0].result is None and "took longer" in explanation.traces[0].error


def test_dotnet_end_anchor_matches_before_a_final_newline() -> None:
    rule = parse(r'user.displayName -match "abc\Z"')
    assert rule.matches({"displayName": "xabc\n"})
    assert not parse(r'user.displayName -match "abc\z"').matches({"displayName": "xabc\n"})


_LITERAL_PATTERNS = ["^Ana B", "son$", "^ana$", "a b", "^@contoso.com", "x-1,y:z/w=v_"]
_VALUES = ["Ana Bson", "ANA B", "Bob Anason\n", "ana\n", "ana\n\n", "ana b\n", "ßon", "SON"]


def _regex_says(pattern: str, value: str) -> bool:
    return regex.search(pattern, value, regex.IGNORECASE | regex.V0) is not None


@pytest.mark.parametrize("pattern", _LITERAL_PATTERNS)
@pytest.mark.parametrize("value", _VALUES)
def test_a_literal_pattern_answers_as_the_regex_does(pattern: str, value: str) -> None:
    # Literal patterns skip the regex on ASCII values; the answer must not change.
    rule = parse(f'user.displayName -match "{pattern}"')
    assert rule.matches({"displayName": value}) is _regex_says(pattern, value)


@given(
    pattern=st.sampled_from(_LITERAL_PATTERNS),
    value=st.text(alphabet="AaNnBbSsOo xyz-\nßK\u212a\u017f@", max_size=12),
)
def test_a_literal_pattern_answers_as_the_regex_does_on_any_text(pattern: str, value: str) -> None:
    rule = parse(f'user.displayName -match "{pattern}"')
    assert rule.matches({"displayName": value}) is _regex_says(pattern, value)


def test_dotnet_named_groups_are_accepted() -> None:
    assert parse('user.mail -match "(?<local>[a-z]+)@contoso"').matches({"mail": "Ana@Contoso.com"})


@pytest.mark.parametrize(
    ("rule", "hired", "expected"),
    [
        ("user.employeeHireDate -ge system.now -minus P1M", "2024-12-15T00:00:00Z", True),
        ("user.employeeHireDate -ge system.now -minus P1M", "2024-12-14T23:59:59Z", False),
        ("user.employeeHireDate -le system.now -plus PT12H", "2025-01-15T12:00:00Z", True),
        ("user.employeeHireDate -eq 2025-01-15", "2025-01-15T00:00:00+00:00", True),
        ("user.employeeHireDate -ge 2025-01-15T01:00:00+02:00", "2025-01-14T23:00:00Z", True),
        ("user.employeeHireDate -ne null", None, False),
        ("user.employeeHireDate -ne 2025-01-15", None, True),
    ],
)
def test_date_rules_use_calendar_months_and_utc_instants(
    rule: str, hired: str | None, expected: bool
) -> None:
    now = datetime(2025, 1, 15, tzinfo=UTC)
    assert parse(rule).matches({"employeeHireDate": hired}, now) is expected


def test_month_arithmetic_clamps_to_the_last_day() -> None:
    rule = parse("user.employeeHireDate -ge system.now -minus P1M")
    now = datetime(2025, 3, 31, tzinfo=UTC)
    assert rule.matches({"employeeHireDate": "2025-02-28T00:00:00Z"}, now)
    assert not rule.matches({"employeeHireDate": "2025-02-27T23:00:00Z"}, now)


def test_directory_extension_values_of_other_types_compare_as_text() -> None:
    rule = parse('user.extension_c272a57b722d4eb29bfe327874ae79cb_level -eq "3"')
    assert rule.matches({"extension_c272a57b722d4eb29bfe327874ae79cb_level": 3})
    old_spelling = parse('user.extension_c272a57b722d4eb29bfe327874ae79cb__level -eq "3"')
    assert old_spelling.select == rule.select


def test_device_rules_parse_and_evaluate_on_graph_device_names() -> None:
    rule = parse(
        '(device.deviceOSType -eq "Windows") -and (device.devicePhysicalIds -any '
        '(_ -startsWith "[ZTDId]")) -and (device.extensionAttribute2 -eq "kiosk")',
        object_type="device",
    )
    device = {
        "operatingSystem": "Windows",
        "physicalIds": ["[ZTDId]:123"],
        "extensionAttributes": {"extensionAttribute2": "Kiosk"},
    }
    assert rule.matches(device)
    assert rule.select == {"id", "operatingSystem", "physicalIds", "extensionAttributes"}


@given(st.text(min_size=1, max_size=40).filter(lambda v: "`" not in v))
def test_any_string_value_round_trips_through_the_compiler(value: str) -> None:
    # Quotes, backslashes and newlines in values must never break the generated code.
    rule = parse(f'user.department -eq "{value.replace(chr(34), "`" + chr(34))}"')
    assert rule.matches({"department": value})
    assert not rule.matches({"department": value + "x"})


def test_explain_text_keeps_each_clause_of_a_multi_line_rule_on_one_row() -> None:
    rule = parse('(user.usageLocation -in ["DE",\n   "FR"])\n  -and (user.city -eq "Paris")')
    lines = str(rule.explain({"usageLocation": "FR", "city": "Paris"})).splitlines()
    assert len(lines) == 3
    assert lines[1].index("usageLocation:") == lines[2].index("city:")
