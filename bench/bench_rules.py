"""Rule engine benchmark: parse+compile rate, compiled vs hand-written speed, RuleSet vs brute.

Run: .venv/bin/python bench/bench_rules.py [--rules 1000] [--users 10000] [--seed 7]
Prints ratios next to the raw times. Times are CPU time (process_time), best of several
runs: the machines are shared, and wall time counted other processes' turns on the CPU.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reconciler.rules import RuleSet, parse

DEPARTMENTS = [
    "Sales",
    "Engineering",
    "Marketing",
    "Finance",
    "HR",
    "Legal",
    "Support",
    "Operations",
    "Research",
    "IT",
    "Procurement",
    "Facilities",
] + [f"Dept {i:03d}" for i in range(150)]
COUNTRIES = [
    "US",
    "CA",
    "GB",
    "DE",
    "FR",
    "NL",
    "SE",
    "ES",
    "IT",
    "PL",
    "IN",
    "JP",
    "AU",
    "BR",
    "MX",
    "NG",
    "ZA",
    "KE",
    "EG",
    "AE",
    "SG",
    "CN",
    "KR",
    "IE",
    "PT",
    "CH",
    "AT",
    "BE",
]
CITIES = [f"City {i:03d}" for i in range(200)]
TITLES = [
    f"{level} {role}"
    for level in ("Junior", "Senior", "Lead", "Principal", "Staff")
    for role in (
        "Engineer",
        "Sales Manager",
        "Analyst",
        "Designer",
        "Accountant",
        "Consultant",
        "Administrator",
        "Recruiter",
    )
]
COMPANIES = ["Contoso", "Fabrikam", "Northwind", "Tailspin", "Woodgrove", "Litware", "Adatum"]
NAMES = [
    "Ana",
    "Andrew",
    "Anders",
    "Bea",
    "Bob",
    "Carla",
    "Chen",
    "Dmitri",
    "Eve",
    "Farah",
    "Gustav",
    "Hiro",
    "Ines",
    "Jonas",
    "Kemi",
    "Liam",
    "Maria",
    "Nils",
    "Olu",
    "Priya",
]
PLAN = "efb87545-963c-4e0d-99df-69c6916d9eb0"


def make_users(count: int, rng: random.Random) -> list[dict]:
    def skewed(values: list[str]) -> str:
        return values[min(int(rng.paretovariate(1.2)) - 1, len(values) - 1)]

    users = []
    for i in range(count):
        first, last = rng.choice(NAMES), rng.choice(NAMES) + "son"
        users.append(
            {
                "id": f"{i:08d}-0000-4000-8000-000000000000",
                "displayName": f"{first} {last}",
                "department": skewed(DEPARTMENTS) if rng.random() > 0.05 else None,
                "country": skewed(COUNTRIES),
                "city": rng.choice(CITIES),
                "jobTitle": rng.choice(TITLES),
                "companyName": rng.choice(COMPANIES),
                "userType": "Guest" if rng.random() < 0.1 else "Member",
                "accountEnabled": rng.random() > 0.08,
                "proxyAddresses": [f"SMTP:{first.lower()}{i}@{rng.choice(COMPANIES).lower()}.com"],
                "assignedPlans": [{"servicePlanId": PLAN, "capabilityStatus": "Enabled"}]
                if rng.random() < 0.6
                else [],
            }
        )
    return users


def make_rules(count: int, rng: random.Random) -> dict[str, str]:
    """INTERFACES.md mix: 70 % equality/-in conjunctions, 30 % -startsWith, -match, -or.

    Values are drawn with the same skew as the users', so group sizes are Zipf-like.
    """
    rules: dict[str, str] = {}
    for i in range(count):
        roll = rng.random()
        d, city = rng.choice(DEPARTMENTS), rng.choice(CITIES)
        if roll < 0.35:
            text = f'(user.department -eq "{d}") -and (user.accountEnabled -eq true)'
        elif roll < 0.55:
            cs = ", ".join(f'"{x}"' for x in rng.sample(COUNTRIES, 3))
            text = f'(user.country -in [{cs}]) -and (user.department -eq "{d}")'
        elif roll < 0.70:
            text = f'(user.city -eq "{city}") -and (user.userType -eq "Member")'
        elif roll < 0.80:
            text = f'user.jobTitle -startsWith "{rng.choice(TITLES)[:-3]}"'
        elif roll < 0.85:
            text = f'user.displayName -match "^{rng.choice(NAMES)} {rng.choice(NAMES)[0]}"'
        elif roll < 0.90:
            text = f'user.displayName -match "{rng.choice(NAMES)[1:]}son$"'
        else:
            text = f'(user.department -eq "{d}") -or (user.city -eq "{city}")'
        rules[f"group-{i:04d}"] = text
    return rules


def best_of(repeats: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(repeats):
        started = time.process_time()
        fn()
        times.append(time.process_time() - started)
    return min(times)


def hand_written() -> list[tuple[str, Callable[[dict], bool]]]:
    """The same five rules as plain Python, with the same semantics (case-insensitive, nulls)."""

    def sales_enabled(u: dict) -> bool:
        d = u.get("department")
        return bool(d) and d.casefold() == "sales" and u.get("accountEnabled") is True

    def country_members(u: dict) -> bool:
        c, t = u.get("country"), u.get("userType")
        return (
            bool(c) and c.casefold() in {"us", "ca", "gb"} and bool(t) and t.casefold() == "member"
        )

    def seniors_or_managers(u: dict) -> bool:
        t = u.get("jobTitle")
        return bool(t) and (t.casefold().startswith("senior") or "manager" in t.casefold())

    def contoso_mail(u: dict) -> bool:
        return any(
            a and a.casefold().endswith("@contoso.com") for a in u.get("proxyAddresses") or ()
        )

    def exchange_plan(u: dict) -> bool:
        return any(
            (p.get("servicePlanId") or "").casefold() == PLAN
            and (p.get("capabilityStatus") or "").casefold() == "enabled"
            for p in u.get("assignedPlans") or ()
        )

    return [
        ('(user.department -eq "Sales") -and (user.accountEnabled -eq true)', sales_enabled),
        ('(user.country -in ["US","CA","GB"]) -and (user.userType -eq "Member")', country_members),
        (
            'user.jobTitle -startsWith "Senior" -or user.jobTitle -contains "manager"',
            seniors_or_managers,
        ),
        ('user.proxyAddresses -any (_ -endsWith "@contoso.com")', contoso_mail),
        (
            f'user.assignedPlans -any (assignedPlan.servicePlanId -eq "{PLAN}" -and '
            'assignedPlan.capabilityStatus -eq "Enabled")',
            exchange_plan,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--users", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    corpus = json.loads((Path(__file__).parents[1] / "tests/rules/conformance.json").read_text())
    texts = [c["rule"] for c in corpus if not c.get("expect_error")]
    seconds = best_of(3, lambda: [parse(t) for t in texts])
    print(
        f"(a) parse+compile: {len(texts)} corpus rules in {seconds * 1000:.1f} ms = "
        f"{len(texts) / seconds:,.0f} rules/s ({seconds / len(texts) * 1e6:.0f} µs each)"
    )

    users = make_users(args.users, rng)
    print(
        "(b) compiled rule vs the same rule written by hand in Python "
        f"({len(users):,} users each, best of 5):"
    )
    worst = 0.0
    for text, baseline in hand_written():
        rule = parse(text)
        assert [rule.matches(u) for u in users] == [baseline(u) for u in users], text
        ours = best_of(5, lambda r=rule: [r.matches(u) for u in users])
        theirs = best_of(5, lambda b=baseline: [b(u) for u in users])
        worst = max(worst, ours / theirs)
        print(
            f"    {ours / theirs:4.2f}x  ({ours / len(users) * 1e9:5.0f} ns vs "
            f"{theirs / len(users) * 1e9:5.0f} ns)  {text[:70]}"
        )
    print(f"    worst ratio {worst:.2f}x (target: within 1.5x, issue 14)")

    texts_by_id = make_rules(args.rules, rng)
    rules = {rule_id: parse(text) for rule_id, text in texts_by_id.items()}
    ruleset = RuleSet(rules)
    population = users[: args.users]
    brute_answers = [{i for i, r in rules.items() if r.matches(u)} for u in population]
    index_answers = [ruleset.matching(u) for u in population]
    identical = brute_answers == index_answers
    brute = best_of(3, lambda: [{i for i, r in rules.items() if r.matches(u)} for u in population])
    indexed = best_of(3, lambda: [ruleset.matching(u) for u in population])
    matches = sum(len(a) for a in index_answers)
    print(
        f"(c) RuleSet, {len(rules):,} rules x {len(population):,} users "
        f"({ruleset.indexed_share:.0%} of rules indexed, {matches:,} matches):"
    )
    print(
        f"    brute force {brute:.2f} s ({brute / len(population) * 1e6:,.0f} µs/user), "
        f"RuleSet {indexed:.2f} s ({indexed / len(population) * 1e6:,.0f} µs/user)"
    )
    print(
        f"    speed-up {brute / indexed:.1f}x (target: at least 20x, issue 14); identical answers: "
        f"{identical}"
    )
    if not identical:
        raise SystemExit("RuleSet disagrees with brute force")


if __name__ == "__main__":
    main()
