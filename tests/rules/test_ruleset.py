"""RuleSet gives exactly brute force's answer, proven over generated rules and users."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.rules import RuleError, RuleSet, parse

WORDS = ["Sales", "sales", "SALES", "Sales Ops", "Engineering", "HR", "Ventes équipe", "ß", "K"]
TITLES = ["Senior Engineer", "Sales Manager", "sales manager", "Intern", "Salesperson"]
PLAN_IDS = ["efb87545-963c-4e0d-99df-69c6916d9eb0", "9aaf7827-d63c-4b61-89c3-182f06f82e5c"]
GROUP_IDS = ["5f2c1a8e-3b7d-4c11-9a0e-1d2f3a4b5c6d", "7a9b8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d"]
MANAGERS = ["aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb", "cccccccc-3333-4444-5555-dddddddddddd"]
NOW = datetime(2025, 1, 15, tzinfo=UTC)

quoted = st.sampled_from(WORDS + TITLES + ["", "Sa", "sal", "eng", "X"]).map(lambda s: f'"{s}"')
string_prop = st.sampled_from(["department", "jobTitle", "city", "Department", "userType"])
string_op = st.sampled_from(
    ["-eq", "-ne", "-startsWith", "-notStartsWith", "-contains", "-endsWith", "eq", "-EQ"]
)
pattern = st.sampled_from(
    [
        '"^Sa"',
        '"^sales m"',
        '"^Sal?"',
        '"les"',
        '"^(Sa|HR)"',
        '"^SALES.*"',
        '"ger$"',
        '"a+g"',
        '"^S[a-z]les"',
        '"Sa\\.?les"',
        '"k"',
        '"ss"',
        '"^(?i)sa"',
        '"Eng{0,1}"',
        '"^ma*nager"',
    ]
)


@st.composite
def comparisons(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 8))
    prop = draw(string_prop)
    if kind == 0:
        return f"user.{prop} {draw(string_op)} {draw(quoted)}"
    if kind == 1:
        items = draw(st.lists(quoted, max_size=3))
        return f"user.{prop} {draw(st.sampled_from(['-in', '-notIn']))} [{', '.join(items)}]"
    if kind == 2:
        return f"user.{prop} {draw(st.sampled_from(['-match', '-notMatch']))} {draw(pattern)}"
    if kind == 3:
        value = draw(st.sampled_from(["true", "false", "null"]))
        return f"user.accountEnabled {draw(st.sampled_from(['-eq', '-ne']))} {value}"
    if kind == 4:
        return f"user.{prop} {draw(st.sampled_from(['-eq', '-ne']))} null"
    if kind == 5:
        op = draw(st.sampled_from(["-startsWith", "-eq", "-endsWith"]))
        quantifier = draw(st.sampled_from(["-any", "-all"]))
        return f"user.proxyAddresses {quantifier} (_ {op} {draw(quoted)})"
    if kind == 6:
        return f"user.proxyAddresses {draw(string_op)} {draw(quoted)}"
    if kind == 7:
        plan = draw(st.sampled_from(PLAN_IDS))
        status = draw(st.sampled_from(['"Enabled"', '"Suspended"']))
        return (
            f"user.assignedPlans {draw(st.sampled_from(['-any', '-all']))} "
            f'(assignedPlan.servicePlanId -eq "{plan}" -and assignedPlan.capabilityStatus '
            f"-eq {status})"
        )
    return f"user.employeeHireDate {draw(st.sampled_from(['-ge', '-le']))} system.now -minus P30D"


def expressions() -> st.SearchStrategy[str]:
    return st.recursive(
        comparisons(),
        lambda inner: st.one_of(
            st.tuples(inner, st.sampled_from([" -and ", " -or ", " and "]), inner).map(
                lambda t: f"({t[0]}){t[1]}({t[2]})"
            ),
            inner.map(lambda e: f"-not ({e})"),
        ),
        max_leaves=5,
    )


whole_rules = st.one_of(
    expressions(),
    st.sampled_from(MANAGERS).map(lambda m: f'Direct Reports for "{m}"'),
    st.sampled_from(GROUP_IDS).map(lambda g: f"user.memberOf -any (group.objectId -in ['{g}'])"),
)

users = st.fixed_dictionaries(
    {"id": st.sampled_from([*MANAGERS, "11111111-2222-3333-4444-555555555555"])},
    optional={
        "department": st.sampled_from([*WORDS, "", None]),
        "jobTitle": st.sampled_from([*TITLES, None]),
        "city": st.sampled_from(["Lagos", "SALES", None]),
        "userType": st.sampled_from(["Member", "Guest", None]),
        "accountEnabled": st.sampled_from([True, False, None]),
        "proxyAddresses": st.lists(st.sampled_from(["SMTP:a@sales.com", "smtp:eng@x", "Sa"])),
        "assignedPlans": st.lists(
            st.fixed_dictionaries(
                {
                    "servicePlanId": st.sampled_from(PLAN_IDS),
                    "capabilityStatus": st.sampled_from(["Enabled", "Suspended"]),
                }
            ),
            max_size=2,
        ),
        "employeeHireDate": st.sampled_from(["2025-01-01T00:00:00Z", "2020-01-01T00:00:00Z"]),
        "manager": st.sampled_from([None, *({"id": m} for m in MANAGERS)]),
        "memberOf": st.lists(
            st.sampled_from(GROUP_IDS).map(
                lambda g: {"@odata.type": "#microsoft.graph.group", "id": g.upper()}
            ),
            max_size=2,
        ),
    },
)


@settings(max_examples=400)
@given(st.lists(whole_rules, min_size=1, max_size=25), st.lists(users, min_size=1, max_size=8))
def test_ruleset_matches_brute_force(texts: list[str], people: list[dict]) -> None:
    rules = {f"g{i}": parse(text) for i, text in enumerate(texts)}
    ruleset = RuleSet(rules)
    for user in people:
        brute = {rule_id for rule_id, rule in rules.items() if rule.matches(user, NOW)}
        assert ruleset.matching(user, NOW) == brute


def test_index_prunes_rules_that_cannot_match() -> None:
    rules = {f"d{i}": parse(f'user.department -eq "Dept {i}"') for i in range(100)}
    rules["prefix"] = parse('user.jobTitle -startsWith "Sales"')
    rules["regex"] = parse('user.jobTitle -match "^Sales M"')
    rules["either"] = parse('user.city -eq "Lagos" -or user.country -in ["NG", "GH"]')
    rules["all"] = parse("user.objectId -ne null")
    ruleset = RuleSet(rules)
    user = {"id": "u1", "department": "dept 7", "jobTitle": "Sales Manager", "country": "GH"}
    assert ruleset.candidates(user) == {"d7", "prefix", "regex", "either", "all"}
    assert ruleset.matching(user) == {"d7", "prefix", "regex", "either", "all"}
    assert ruleset.indexed_share > 0.99


def test_undecided_rules_are_reported_not_guessed() -> None:
    slow = parse('user.displayName -match "(a+)+$"', regex_timeout=0.01)
    ruleset = RuleSet({"slow": slow, "fast": parse('user.displayName -startsWith "a"')})
    result = ruleset.evaluate({"displayName": "a" * 5000 + "!"})  # noqa: hang bounded by 10 ms
    assert result.matched == {"fast"}
    assert result.undecided["slow"].kind == "RegexTimeout"


def test_select_is_the_union_of_every_rule() -> None:
    ruleset = RuleSet(
        {
            "a": parse('user.mobile -eq "1"'),
            "b": parse('user.extensionAttribute3 -eq "x"'),
            "c": parse('Direct Reports for "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb"'),
        }
    )
    assert ruleset.select == {"id", "mobilePhone", "onPremisesExtensionAttributes"}
    assert ruleset.needs_manager and not ruleset.needs_member_of


mistyped = st.sampled_from([5, 0, False, True, ["Sales"], {"a": 1}, 2.5])
mixed_users = st.fixed_dictionaries(
    {"id": st.just("11111111-2222-3333-4444-555555555555")},
    optional={
        "department": st.sampled_from([*WORDS, "", None]) | mistyped,
        "jobTitle": st.sampled_from([*TITLES, None]) | mistyped,
        "city": st.sampled_from(["Lagos", "SALES", None]) | mistyped,
        "userType": st.sampled_from(["Member", "Guest", None]) | mistyped,
        "accountEnabled": st.sampled_from([True, False, None]) | mistyped,
    },
)


@settings(max_examples=300)
@given(st.lists(expressions(), min_size=1, max_size=12), st.lists(mixed_users, max_size=6))
def test_ruleset_matches_brute_force_on_mistyped_values(texts: list[str], people: list) -> None:
    # Keys that decide a rule without evaluating it must agree with it on every value too.
    rules = {f"g{i}": parse(text) for i, text in enumerate(texts)}
    ruleset = RuleSet(rules)
    for user in people:
        evaluation = ruleset.evaluate(user, NOW)
        assert (evaluation.matched, set(evaluation.undecided)) == _one_by_one(rules, user)


def _one_by_one(rules: dict, user: dict) -> tuple[set[str], set[str]]:
    """(matched, undecided) rule by rule, as brute force decides them."""
    matched, undecided = set(), set()
    for rule_id, rule in rules.items():
        try:
            if rule.matches(user, NOW):
                matched.add(rule_id)
        except RuleError:
            undecided.add(rule_id)
    return matched, undecided


def test_a_key_decides_a_rule_only_when_it_covers_all_of_it() -> None:
    rules = {
        "never": parse('(user.department -eq "Sales") -and (user.country -in [])'),
        "enabled": parse('(user.department -eq "Sales") -and (user.accountEnabled -ne false)'),
        "senior": parse('(user.department -eq "Sales") -and (user.jobTitle -startsWith "Sen")'),
        "anyone": parse('(user.department -eq "Sales") -or (user.city -eq "Lagos")'),
    }
    user = {"department": "SALES", "accountEnabled": None, "jobTitle": "Intern", "country": "US"}
    assert RuleSet(rules).matching(user) == {"enabled", "anyone"}


DENSE_RULES = [
    'user.department -eq "Sales"',
    'user.department -startsWith "Sa"',
    'user.department -contains "ale"',
    'user.department -endsWith "Sa"',
    'user.department -match "^Sa"',
    'user.department -in ["Sales", "HR"]',
    "user.accountEnabled -ne true",
    '(user.department -eq "Sales") -or (user.city -endsWith "gos")',
    '(user.department -startsWith "Sa") -or (user.city -eq "Lagos")',
    '(user.department -startsWith "Sa") -and (user.city -eq "Lagos")',
    '(user.department -eq "Sales") -and (user.city -in ["Lagos", "Paris"])',
    '(user.department -eq "Sales") -and (user.accountEnabled -eq true)',
    '(user.department -eq "Sales") -and -not (user.city -eq "Lagos")',
    '((user.department -eq "Sales") -or (user.department -eq "HR")) -and (user.city -eq "Lagos")',
]
DENSE_USERS = [
    {"department": "Sales", "city": "Lagos", "accountEnabled": True},
    {"department": "SALES", "city": "Paris", "accountEnabled": False},
    {"department": "Ms Sales", "city": "gosX", "accountEnabled": None},
    {"department": "HR", "city": "Ibadan gos"},
    {"department": "Saga", "city": "lagos"},
    {"department": "", "city": None, "accountEnabled": True},
    {"department": 5, "city": "Lagos", "accountEnabled": True},
    {"department": "Sales", "city": ["Lagos"], "accountEnabled": "yes"},
]


def test_ruleset_matches_brute_force_on_every_rule_and_user_of_a_dense_grid() -> None:
    # Each key that decides its rule (equality, prefix, substring, -or, whole -and) next to
    # one that does not (-endsWith, -match, -and with a prefix): a wrong shortcut shows here.
    rules = {text: parse(text) for text in DENSE_RULES}
    ruleset = RuleSet(rules)
    for user in DENSE_USERS:
        evaluation = ruleset.evaluate(user, NOW)
        assert (evaluation.matched, set(evaluation.undecided)) == _one_by_one(rules, user), user
