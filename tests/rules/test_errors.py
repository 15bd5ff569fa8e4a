"""Each validation category, with the offending token's position and a useful message."""

from __future__ import annotations

import pytest

from reconciler.rules import RuleError, parse


def error_of(text: str, **options: object) -> RuleError:
    with pytest.raises(RuleError) as caught:
        parse(text, **options)
    return caught.value


@pytest.mark.parametrize(
    ("rule", "kind", "token", "hint"),
    [
        ('user.departmnt -eq "x"', "AttributeNotSupported", "user.departmnt", "department"),
        ('user.extensionAttribute16 -eq "x"', "AttributeNotSupported", "user.ext", "15"),
        ('user.manager -eq "x"', "AttributeNotSupported", "user.manager", "Direct Reports"),
        (
            "user.accountEnabled -contains true",
            "OperatorNotSupportedOnAttribute",
            "-contains",
            "-eq, -ne",
        ),
        ('user.department -ge "A"', "OperatorNotSupportedOnAttribute", "-ge", "-startsWith"),
        ('user.assignedPlans -eq "x"', "OperatorNotSupportedOnAttribute", "-eq", "-any, -all"),
        ('user.department -any (_ -eq "x")', "OperatorNotSupportedOnAttribute", "-any", "-eq"),
        ('user.mail -match "*@x"', "QueryCompilationError", "*", ".*"),
        ('user.department -eq "a" user.city -eq "b"', "QueryCompilationError", "user.city", "-and"),
        ('user.department -eq "a")', "QueryCompilationError", ")", "unbalanced"),
        ('(user.department -eq "a"', "QueryCompilationError", "", "')'"),
        ('user.department -like "a"', "QueryCompilationError", "-like", "-startsWith"),
        ('user.department -in "a"', "QueryCompilationError", '"a"', "["),
        ('user.department -eq "Sales', "QueryCompilationError", '"Sales', "closing"),
        ("user.department -eq \u201cSales\u201d", "QueryCompilationError", "\u201c", "straight"),
        ('department -eq "x"', "QueryCompilationError", "department", "user.department"),
        ("user.department -eq Sales", "QueryCompilationError", "Sales", '"Sales"'),
        ("user.employeeHireDate -ge yesterday", "QueryCompilationError", "yesterday", "system.now"),
        ("user.employeeHireDate -ge system.now -plus 3 days", "QueryCompilationError", "3", "P1D"),
        ("user.department -contains null", "QueryCompilationError", "null", "-eq or -ne"),
        ('device.deviceOSType -eq "Windows"', "InvalidObjectType", "device.", "user rule"),
        (
            'Direct Reports for "62e19b97-8b3d-4d4a-a106-4ce66896a863" -and user.city -eq "x"',
            "UnsupportedCombination",
            "-and",
            "combined",
        ),
        (
            "-not (user.memberOf -any (group.objectId -in ['62e19b97-8b3d-4d4a-a106-4ce66896a863'"
            "]))",
            "UnsupportedCombination",
            "-not",
            "negated",
        ),
    ],
)
def test_error_names_kind_token_and_fix(rule: str, kind: str, token: str, hint: str) -> None:
    error = error_of(rule)
    assert error.kind == kind
    assert rule[error.position :].startswith(token)
    assert hint in error.message


def test_error_text_has_a_caret_under_the_offending_token() -> None:
    error = error_of("(user.accountEnabled -contains true)")
    _, line, caret = str(error).splitlines()
    assert line.strip() == "(user.accountEnabled -contains true)"
    assert caret.index("^") - line.index("(") == error.position


def test_caret_points_into_the_right_line_of_a_multi_line_rule() -> None:
    rule = '(user.department -eq "Sales") -and\n  (user.cuntry -eq "US")'
    error = error_of(rule)
    _, line, caret = str(error).splitlines()
    assert line.strip() == '(user.cuntry -eq "US")'
    assert line[caret.index("^") :].startswith("user.cuntry")


def test_length_limit_is_entra_s_and_can_be_lifted_explicitly() -> None:
    padding = ", ".join(f'"{i:05d}"' for i in range(400))
    rule = f"user.department -in [{padding}]"
    assert len(rule) > 3072
    error = error_of(rule)
    assert (error.kind, error.position) == ("RuleTooLong", 0)
    assert str(len(rule)) in error.message
    assert parse(rule, max_length=None).matches({"department": "00399"})


def test_a_device_property_in_a_user_rule_and_the_reverse_are_invalid_object_type() -> None:
    assert error_of('device.deviceModel -eq "x"').kind == "InvalidObjectType"
    assert error_of('user.department -eq "x"', object_type="device").kind == "InvalidObjectType"


@pytest.mark.parametrize("opener", ["(", "-not ", "-not ("])
def test_deep_nesting_is_a_rule_error_not_a_recursion_error(opener: str) -> None:
    rule = opener * 1000 + 'user.city -eq "x"' + ")" * (1000 * opener.count("("))
    error = error_of(rule, max_length=None)
    assert error.kind == "QueryCompilationError"
    assert "levels deep" in error.message


def test_a_long_flat_chain_of_conditions_compiles() -> None:
    rule = " -or ".join(f'user.city -eq "c{i}"' for i in range(400))
    assert parse(rule, max_length=None).matches({"city": "C399"})


def test_memberof_rule_limit_of_fifty_groups() -> None:
    ids = ", ".join(f"'{i:08d}-0000-4000-8000-000000000000'" for i in range(51))
    error = error_of(f"user.memberOf -any (group.objectId -in [{ids}])")
    assert (error.kind, error.position) == ("UnsupportedCombination", 0)


def test_rule_error_is_a_value_error() -> None:
    assert isinstance(error_of(""), ValueError)
