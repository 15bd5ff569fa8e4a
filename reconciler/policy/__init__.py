"""The rules file: TOML -> managed groups (rule, include/exclude, paused, guard limit, examples).

policy = load_policy("rules.toml")        # never raises for a bad file
for problem in policy.problems: print(problem)   # file:line:col: message + hint
for group in policy.usable_groups: ...     # groups without errors, rule compiled
results = run_examples(group)              # ExampleResult per example
"""

from reconciler.policy.examples import ExampleResult, run_examples
from reconciler.policy.load import EXAMPLE_KEYS, GROUP_KEYS, load_policy, loads_policy
from reconciler.policy.model import ManagedGroup, Policy, RuleExample
from reconciler.policy.problems import Location, Problem

__all__ = [
    "EXAMPLE_KEYS",
    "GROUP_KEYS",
    "ExampleResult",
    "Location",
    "ManagedGroup",
    "Policy",
    "Problem",
    "RuleExample",
    "load_policy",
    "loads_policy",
    "run_examples",
]
