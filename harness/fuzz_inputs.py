"""Hypothesis strategies for the fuzz suite and bench/bench_parse_fuzz.py: rule texts (random
and mutated corpus rules) and Graph-shaped users."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import strategies as st

CORPUS_FILE = Path(__file__).resolve().parents[1] / "tests" / "rules" / "conformance.json"
CORPUS: list[str] = sorted({case["rule"] for case in json.loads(CORPUS_FILE.read_text())})


def _parses(text: str) -> bool:
    from reconciler.rules import RuleError, parse

    try:
        parse(text)
    except RuleError:
        return False
    return True


VALID_CORPUS: list[str] = [text for text in CORPUS if _parses(text)]
MAX_RULE = 3072

# Pieces of the rule language, so mutations make near-valid rules rather than only noise.
TOKENS = [
    "user.",
    "device.",
    "user.department",
    "user.accountEnabled",
    "user.otherMails",
    "user.assignedPlans",
    "user.extension_abc_x",
    "-eq",
    "-ne",
    "-match",
    "-notMatch",
    "-contains",
    "-startsWith",
    "-in",
    "-notIn",
    "-any",
    "-all",
    "-and",
    "-or",
    "-not",
    "-memberof",
    "-le",
    "-ge",
    "Direct Reports for",
    "(",
    ")",
    "[",
    "]",
    '"',
    "'",
    '""',
    "null",
    "true",
    "false",
    "$",
    "\\",
    "\n",
    " ",
    ",",
    '"(a+)+$"',
    '"[',
    '".*.*.*.*x"',
    "assignedPlan.service",
    "_",
    "-eq -eq",
    "((((",
    "))))",
    "\u0000",
    "\ufffd",
    "💥",
    "\u00b3",
    "\u0663",
    "\u00bd",
]

tokens = st.sampled_from(TOKENS)
corpus_rules = st.sampled_from(CORPUS)


@st.composite
def mutated_rules(draw: st.DrawFn) -> str:
    """A corpus rule with a few character and token edits."""
    text = draw(corpus_rules)
    for _ in range(draw(st.integers(1, 6))):
        position = draw(st.integers(0, len(text)))
        edit = draw(st.sampled_from(["insert", "delete", "replace", "token", "drop-token"]))
        if edit == "insert":
            text = text[:position] + draw(st.characters()) + text[position:]
        elif edit == "delete":
            text = text[:position] + text[position + 1 :]
        elif edit == "replace":
            text = text[:position] + draw(st.characters()) + text[position + 1 :]
        elif edit == "token":
            text = text[:position] + draw(tokens) + text[position:]
        else:
            words = text.split(" ")
            if len(words) > 1:
                del words[draw(st.integers(0, len(words) - 1))]
            text = " ".join(words)
    return text


@st.composite
def nested_rules(draw: st.DrawFn) -> str:
    """Deep nesting: brackets, -not chains and collection bodies, up to the length limit."""
    inner = draw(corpus_rules)
    depth = draw(st.integers(50, 1500))
    shape = draw(st.sampled_from(["parens", "not", "parens-unclosed", "brackets", "mixed"]))
    if shape == "parens":
        text = "(" * depth + inner + ")" * depth
    elif shape == "not":
        text = "-not (" * depth + inner + ")" * depth
    elif shape == "parens-unclosed":
        text = "(" * depth + inner
    elif shape == "brackets":
        text = "user.assignedPlans -any (" * depth + 'assignedPlan.service -eq "x"' + ")" * depth
    else:
        text = "".join(draw(st.lists(tokens, min_size=depth // 3, max_size=depth // 3)))
    return text[:MAX_RULE]


@st.composite
def long_rules(draw: st.DrawFn) -> str:
    """Long chains of corpus clauses joined by -and/-or, cut at or near 3,072 characters."""
    parts = draw(st.lists(st.sampled_from(VALID_CORPUS), min_size=5, max_size=80))
    joiner = draw(st.sampled_from([" -and ", " -or ", " ", ""]))
    text = joiner.join(f"({p})" for p in parts)
    cut = draw(st.integers(MAX_RULE - 64, MAX_RULE + 16))
    return text[:cut]


rule_texts = (
    st.text(max_size=200)
    | st.text(alphabet=st.sampled_from('user.()[]"-eqandor \\$'), max_size=400)
    | st.lists(tokens, max_size=60).map(" ".join)
    | mutated_rules()
    | nested_rules()
    | long_rules()
)

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**64), 2**64)
    | st.floats()
    | st.text(max_size=40)
    | st.sampled_from(["Sales", "sales", "2024-01-01T00:00:00Z", "not-a-date", ""])
)
json_values = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
_strings = st.none() | st.text(max_size=40) | st.sampled_from(["Sales", "sales", "CEO", "US", ""])
_dates = st.none() | st.sampled_from(
    ["2024-01-01T00:00:00Z", "2020-06-10T18:13:20Z", "0001-01-01T00:00:00Z", "not-a-date", ""]
)
_guid_text = st.uuids().map(str)
# Graph-shaped: each property has Graph's type (or null), with values that stress comparisons.
graph_users = st.fixed_dictionaries(
    {},
    optional={
        "id": _guid_text,
        "department": _strings,
        "jobTitle": _strings,
        "country": _strings,
        "city": _strings,
        "mail": _strings,
        "userPrincipalName": _strings,
        "employeeId": _strings,
        "userType": st.none() | st.sampled_from(["Member", "Guest", "member", ""]),
        "accountEnabled": st.none() | st.booleans(),
        "employeeHireDate": _dates,
        "createdDateTime": _dates,
        "otherMails": st.none() | st.lists(st.text(max_size=20), max_size=3),
        "proxyAddresses": st.none() | st.lists(st.text(max_size=20), max_size=3),
        "assignedPlans": st.none()
        | st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "service": _strings,
                    "capabilityStatus": st.none() | st.sampled_from(["Enabled", "Deleted"]),
                    "servicePlanId": st.none() | _guid_text,
                },
            ),
            max_size=3,
        ),
        "onPremisesExtensionAttributes": st.none()
        | st.dictionaries(
            st.sampled_from([f"extensionAttribute{n}" for n in range(1, 16)]), _strings, max_size=3
        ),
        "memberOf": st.none() | st.lists(st.fixed_dictionaries({"id": _guid_text}), max_size=3),
        "manager": st.none() | st.fixed_dictionaries({"id": _guid_text}),
    },
)
