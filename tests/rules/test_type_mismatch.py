"""Values of the wrong type: one clear AttributeTypeMismatch, never a crash or a guess."""

from __future__ import annotations

import pytest

from reconciler.rules import RuleError, RuleSet, parse

FIX = "; fix the attribute's value in the directory"
PLAN = "efb87545-963c-4e0d-99df-69c6916d9eb0"
GROUP = "5f2c1a8e-3b7d-4c11-9a0e-1d2f3a4b5c6d"
MANAGER = "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb"
EXTENSION = "extension_c272a57b722d4eb29bfe327874ae79cb_level"


def mismatch_of(rule: str, user: dict, object_type: str = "user") -> RuleError:
    with pytest.raises(RuleError) as caught:
        parse(rule, object_type=object_type).matches(user)
    return caught.value


@pytest.mark.parametrize(
    ("rule", "user", "message"),
    [
        (
            'user.department -eq "Sales"',
            {"department": [None]},
            "user.department is an array ([None]) but the rule compares it as a string",
        ),
        (
            'user.department -startsWith "S"',
            {"department": 5},
            "user.department is a number (5) but the rule compares it as a string",
        ),
        (  # falsy values that are not null would otherwise read as null
            'user.department -ne "Sales"',
            {"department": 0},
            "user.department is a number (0) but the rule compares it as a string",
        ),
        (
            "user.department -eq null",
            {"department": {}},
            "user.department is an object ({}) but the rule compares it as a string",
        ),
        (
            'user.mail -match "@contoso"',
            {"mail": True},
            "user.mail is a boolean (True) but the rule compares it as a string",
        ),
        (
            "user.accountEnabled -eq true",
            {"accountEnabled": "yes"},
            "user.accountEnabled is a string ('yes') but the rule compares it as a boolean",
        ),
        (
            "user.dirSyncEnabled -ne false",
            {"onPremisesSyncEnabled": 1},
            "user.dirSyncEnabled (Graph onPremisesSyncEnabled) is a number (1) but the rule "
            "compares it as a boolean",
        ),
        (
            "user.employeeHireDate -ge 2020-01-01",
            {"employeeHireDate": "last year"},
            "user.employeeHireDate is a string ('last year') but the rule compares it as a "
            "date-time",
        ),
        (
            'user.otherMails -any (_ -eq "a@b")',
            {"otherMails": "a@b"},
            "user.otherMails is a string ('a@b') but the rule reads it as a list of strings",
        ),
        (
            'user.proxyAddresses -contains "smtp"',
            {"proxyAddresses": {"smtp": 1}},
            "user.proxyAddresses is an object ({'smtp': 1}) but the rule reads it as a list of "
            "strings",
        ),
        (
            "user.otherMails -eq null",
            {"otherMails": 7},
            "user.otherMails is a number (7) but the rule reads it as a list of strings",
        ),
        (
            'user.otherMails -any (_ -endsWith "@x")',
            {"otherMails": ["a@y", 5]},
            "user.otherMails[1] is a number (5) but the rule compares it as a string",
        ),
        (
            f'user.assignedPlans -any (assignedPlan.servicePlanId -eq "{PLAN}")',
            {"assignedPlans": [5]},
            "user.assignedPlans[0] is a number (5) but the rule reads it as an object",
        ),
        (
            'user.assignedPlans -all (assignedPlan.service -eq "SCO")',
            {"assignedPlans": [{"service": "SCO"}, {"service": ["SCO"]}]},
            "user.assignedPlans[1].service is an array (['SCO']) but the rule compares it as a "
            "string",
        ),
        (
            'user.extensionAttribute1 -eq "x"',
            {"onPremisesExtensionAttributes": "x"},
            "Graph onPremisesExtensionAttributes (for user.extensionAttribute1) is a string "
            "('x') but the rule reads it as an object",
        ),
        (
            'user.extensionAttribute1 -eq "x"',
            {"onPremisesExtensionAttributes": {"extensionAttribute1": 3}},
            "user.extensionAttribute1 (Graph onPremisesExtensionAttributes.extensionAttribute1) "
            "is a number (3) but the rule compares it as a string",
        ),
        (
            'user.telephoneNumber -eq "555"',
            {"businessPhones": "555"},
            "Graph businessPhones (for user.telephoneNumber) is a string ('555') but the rule "
            "reads it as a list",
        ),
        (
            f'user.{EXTENSION} -eq "3"',
            {EXTENSION: [3]},
            f"user.{EXTENSION} is an array ([3]) but the rule compares it as a string",
        ),
        (
            f"user.memberOf -any (group.objectId -in ['{GROUP}'])",
            {"memberOf": "x"},
            "user.memberOf is a string ('x') but the rule reads it as a list of groups",
        ),
        (
            f"user.memberOf -any (group.objectId -in ['{GROUP}'])",
            {"memberOf": [{"id": 42}]},
            "user.memberOf[0].id is a number (42) but the rule compares it as a string",
        ),
        (
            f'Direct Reports for "{MANAGER}"',
            {"id": "u1", "manager": ["m"]},
            "Graph manager (for user.manager) is an array (['m']) "
            "but the rule reads it as an object",
        ),
    ],
)
def test_each_mismatch_is_one_error_naming_value_place_and_fix(
    rule: str, user: dict, message: str
) -> None:
    error = mismatch_of(rule, user)
    assert error.kind == "AttributeTypeMismatch"
    assert error.message == message + FIX


def test_device_rules_name_the_device() -> None:
    error = mismatch_of('device.deviceOSType -eq "Windows"', {"operatingSystem": 10}, "device")
    assert error.message.startswith("device.deviceOSType (Graph operatingSystem) is a number")


def test_a_huge_value_is_previewed_in_one_short_line() -> None:
    error = mismatch_of('user.department -eq "x"', {"department": [["deep"] * 10**5] * 10**3})
    preview = error.message.split(" (", 1)[1].split(") but", 1)[0]
    assert len(preview) <= 60 and "\n" not in preview


@pytest.mark.parametrize("null", [None, ""])
def test_null_is_still_null_not_a_mismatch(null: str | None) -> None:
    assert parse("user.department -eq null").matches({"department": null})
    assert not parse('user.department -eq "x"').matches({"department": null})
    assert parse("user.otherMails -eq null").matches({"otherMails": None})
    assert parse("user.extensionAttribute2 -eq null").matches(
        {"onPremisesExtensionAttributes": None}
    )
    assert not parse("user.accountEnabled -eq true").matches({})


# --- three-valued logic ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ('user.department -eq "x" -or user.city -eq "Lagos"', True),  # true -or undecided
        ('user.department -eq "x" -and user.city -eq "Ibadan"', False),  # false -and undecided
        ('user.department -eq "x" -or user.city -eq "Ibadan"', None),
        ('user.department -eq "x" -and user.city -eq "Lagos"', None),
        ('-not (user.department -eq "x")', None),
        ('user.city -eq "Lagos" -or user.department -eq "x"', True),  # order does not matter
    ],
)
def test_undecided_clauses_combine_with_kleene_logic_everywhere(
    rule: str, expected: bool | None
) -> None:
    parsed = parse(rule)
    user = {"department": 5, "city": "Lagos"}
    assert parsed.explain(user).result is expected
    evaluation = RuleSet({"g": parsed}).evaluate(user)
    if expected is None:
        assert mismatch_of(rule, user).kind == "AttributeTypeMismatch"
        assert evaluation.undecided["g"].kind == "AttributeTypeMismatch"
    else:
        assert parsed.matches(user) is expected
        assert (evaluation.matched == {"g"}) is expected and not evaluation.undecided


def test_a_regex_timeout_follows_the_same_logic_in_matches_and_explain() -> None:
    rule = parse('user.displayName -match "(x+x+)+y" -or user.city -eq "x"', regex_timeout=0.01)
    user = {"displayName": "y" + "x" * 5000, "city": "X"}
    assert rule.matches(user) is True  # the timed-out side cannot change the answer
    assert rule.explain(user).result is True


@pytest.mark.parametrize(
    "plans", [[5, {"service": "SCO"}], [{"service": "SCO"}, 5]], ids=["bad-first", "bad-last"]
)
def test_one_matching_element_decides_any_whatever_the_order(plans: list) -> None:
    rule = parse('user.assignedPlans -any (assignedPlan.service -eq "SCO")')
    assert rule.matches({"assignedPlans": plans})
    every = parse('user.assignedPlans -all (assignedPlan.service -eq "EXO")')
    assert not every.matches({"assignedPlans": plans})


def test_explain_marks_the_mistyped_clause_undecided_with_the_reason() -> None:
    rule = parse('user.department -eq "Sales" -or user.accountEnabled -eq true')
    explanation = rule.explain({"department": [None], "accountEnabled": False})
    assert explanation.result is None
    first, second = explanation.traces
    assert (first.result, first.value) == (None, [None])
    assert first.error is not None and first.error.startswith("user.department is an array")
    assert (second.result, second.error) == (False, None)
    assert str(explanation).startswith("UNDECIDED: ")


def test_explain_shows_a_mistyped_container_as_it_is() -> None:
    rule = parse('user.extensionAttribute4 -eq "x"')
    trace = rule.explain({"onPremisesExtensionAttributes": "oops"}).traces[0]
    assert (trace.result, trace.value) == (None, "oops")


def test_a_matching_memberof_entry_decides_despite_a_mistyped_one() -> None:
    rule = parse(f"user.memberOf -any (group.objectId -in ['{GROUP}'])")
    assert rule.matches({"memberOf": [7, {"id": GROUP.upper()}]})
    assert mismatch_of(rule.text, {"memberOf": [7, {"id": "other"}]}).message.startswith(
        "user.memberOf[0] is a number (7)"
    )


def test_direct_reports_decide_on_the_own_id_despite_a_mistyped_manager() -> None:
    rule = parse(f'Direct Reports for "{MANAGER}"')
    assert rule.matches({"id": MANAGER, "manager": "boss"})


# --- the index ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "user",
    [
        {"department": 5},
        {"accountEnabled": "yes", "department": "Sales"},
        {"proxyAddresses": ["smtp:a@x", 3]},
        {"assignedPlans": [{"servicePlanId": 5}]},
        {"memberOf": [None]},
        {"id": 12},
        {"manager": "x"},
    ],
)
def test_the_index_never_skips_a_rule_whose_value_it_cannot_read(user: dict) -> None:
    rules = {
        "dept": parse('user.department -eq "Sales"'),
        "enabled": parse("user.accountEnabled -eq true"),
        "smtp": parse('user.proxyAddresses -any (_ -startsWith "SMTP:b")'),
        "plan": parse(f'user.assignedPlans -any (assignedPlan.servicePlanId -eq "{PLAN}")'),
        "member": parse(f"user.memberOf -any (group.objectId -in ['{GROUP}'])"),
        "reports": parse(f'Direct Reports for "{MANAGER}"'),
    }
    ruleset = RuleSet(rules)
    evaluation = ruleset.evaluate(user)
    undecided = {
        rule_id
        for rule_id, rule in rules.items()
        if rule.explain(user).result is None  # the truth, rule by rule
    }
    assert undecided and set(evaluation.undecided) == undecided
    assert undecided <= ruleset.candidates(user)
    assert all(e.kind == "AttributeTypeMismatch" for e in evaluation.undecided.values())
