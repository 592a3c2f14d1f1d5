"""Risk rules: YAML data that turns exposures seen by a scan into findings.

The shipped pack lives in ``scanner/rules/pack/*.yaml``; deployments add their own
directory (``--rules DIR`` or ``GARRISON_RULES_DIR``), whose rules may override a
shipped rule by id (to tune a severity, say).
"""

from scanner.rules.engine import Outcome, RuleSet, ServiceFacts
from scanner.rules.loader import load_rules, shipped_rule_files
from scanner.rules.schema import Condition, Rule, RulePack

__all__ = [
    "Condition",
    "Outcome",
    "Rule",
    "RulePack",
    "RuleSet",
    "ServiceFacts",
    "load_rules",
    "shipped_rule_files",
]
