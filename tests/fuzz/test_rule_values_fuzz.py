"""Any JSON in the properties a rule reads: a bool or an undecided RuleError, never a crash,
and `matches`, `explain` and `RuleSet.evaluate` always agree."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.fuzz_inputs import VALID_CORPUS, json_values
from reconciler.rules import Rule, RuleError, RuleSet, parse

NOW = datetime(2026, 1, 1, tzinfo=UTC)
UNDECIDED = ("RegexTimeout", "AttributeTypeMismatch")
EXTRA_USER_RULES = [
    'user.telephoneNumber -startsWith "+1" -or user.sipProxyAddress -eq "sip:a@x"',
    "user.extension_c272a57b722d4eb29bfe327874ae79cb_level -in ['3', 'true']",
    "user.dirSyncEnabled -ne true -and user.employeeHireDate -ge system.now -minus P30D",
    'user.otherMails -notContains "x" -or user.proxyAddresses -eq null',
    '-not (user.assignedPlans -all (assignedPlan.capabilityStatus -eq "Enabled"))',
]
DEVICE_RULES = [
    '(device.deviceOSType -eq "Windows") -or (device.devicePhysicalIds -any (_ -startsWith "[Z"))',
    'device.accountEnabled -eq true -and device.extensionAttribute2 -ne "kiosk"',
    'device.systemLabels -contains "x" -or device.isRooted -eq false',
    "device.memberOf -any (group.objectId -in ['5f2c1a8e-3b7d-4c11-9a0e-1d2f3a4b5c6d'])",
]

# Containers get their expected shape half the time, so the values inside them are reached.
_item_fields = st.dictionaries(
    st.sampled_from(["service", "servicePlanId", "capabilityStatus", "id", "@odata.type"]),
    json_values,
    max_size=3,
)
_extension_attributes = st.dictionaries(
    st.sampled_from([f"extensionAttribute{n}" for n in range(1, 16)]), json_values, max_size=4
)
SHAPED = {
    "assignedPlans": st.lists(_item_fields | json_values, max_size=3),
    "memberOf": st.lists(_item_fields | json_values, max_size=3),
    "manager": _item_fields,
    "onPremisesExtensionAttributes": _extension_attributes,
    "extensionAttributes": _extension_attributes,
}


RULES = [parse(text) for text in VALID_CORPUS + EXTRA_USER_RULES] + [
    parse(text, object_type="device") for text in DEVICE_RULES
]
rules = st.sampled_from(RULES)


def objects_for(chosen: list[Rule]) -> st.SearchStrategy[dict]:
    """Objects with arbitrary JSON (or a well-shaped container) in every name the rules read."""
    names = set().union(*(r.select for r in chosen)) | {"manager", "memberOf"}
    return st.fixed_dictionaries(
        {},
        optional={name: json_values | SHAPED.get(name, json_values) for name in sorted(names)},
    )


def outcome(rule: Rule, obj: dict) -> bool | None:
    """True/False, or None when undecided (with an allowed error kind)."""
    try:
        result = rule.matches(obj, NOW)
    except RuleError as error:
        assert error.kind in UNDECIDED, error
        return None
    assert isinstance(result, bool)
    return result


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_json_values_give_a_verdict_or_an_undecided_rule_error(data: st.DataObject) -> None:
    chosen = data.draw(st.lists(rules, min_size=1, max_size=4))
    obj = data.draw(objects_for(chosen))
    expected = {f"g{n}": outcome(rule, obj) for n, rule in enumerate(chosen)}

    for n, rule in enumerate(chosen):
        explanation = rule.explain(obj, NOW)
        assert explanation.result is expected[f"g{n}"]
        str(explanation)  # the text rendering must not fail either
        if explanation.result is None:
            assert any(t.result is None and t.error for t in explanation.traces)

    ruleset = RuleSet({f"g{n}": rule for n, rule in enumerate(chosen)})
    evaluation = ruleset.evaluate(obj, NOW)
    assert evaluation.matched == {rule_id for rule_id, r in expected.items() if r is True}
    assert set(evaluation.undecided) == {rule_id for rule_id, r in expected.items() if r is None}
    assert all(error.kind in UNDECIDED for error in evaluation.undecided.values())
