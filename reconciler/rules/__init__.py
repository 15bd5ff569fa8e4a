"""Entra ID dynamic-membership rules: parse and validate, evaluate, explain, index many."""

from .errors import RuleError
from .explain import Explanation
from .rule import Rule, parse
from .ruleset import Evaluation, RuleSet

__all__ = ["Evaluation", "Explanation", "Rule", "RuleError", "RuleSet", "parse"]
