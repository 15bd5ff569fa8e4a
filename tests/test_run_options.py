"""RunOptions: how one run may act, worked out once from the settings and the caller's wishes."""

from __future__ import annotations

from reconciler.service import RunOptions
from reconciler.settings import Settings


def test_dry_run_is_the_callers_wish_or_the_setting() -> None:
    assert RunOptions.from_settings(Settings(), dry_run=True).dry_run
    assert RunOptions.from_settings(Settings(dry_run=True)).dry_run
    assert not RunOptions.from_settings(Settings()).dry_run


def test_mass_removal_is_allowed_by_the_caller_or_the_setting() -> None:
    assert RunOptions.from_settings(Settings(), allow_mass_removal=True).guard.allow_mass_removal
    assert RunOptions.from_settings(Settings(allow_mass_removal=True)).guard.allow_mass_removal
    assert not RunOptions.from_settings(Settings()).guard.allow_mass_removal


def test_the_limits_come_from_the_settings() -> None:
    settings = Settings(max_removal_percent=5, removal_floor=3, min_expected_users=70)
    options = RunOptions.from_settings(settings, group_ids=["g1"])
    assert (options.guard.max_removal_percent, options.guard.removal_floor) == (5, 3)
    assert options.guard.min_expected_users == 70
    assert (options.budget.max_removal_percent, options.budget.removal_floor) == (5, 3)
    assert options.group_ids == ("g1",) and RunOptions.from_settings(settings).group_ids is None


def test_only_a_run_that_writes_without_a_release_spends_the_budget() -> None:
    assert RunOptions.from_settings(Settings()).spends_budget
    assert not RunOptions.from_settings(Settings(), dry_run=True).spends_budget
    assert not RunOptions.from_settings(Settings(), allow_mass_removal=True).spends_budget
