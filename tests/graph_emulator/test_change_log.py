"""Unit tests of the change log behind `/users/delta`: ordering, property numbers, bounded size."""

from __future__ import annotations

from graph_emulator.change_log import ChangeLog


def test_after_yields_each_user_once_at_its_latest_change() -> None:
    log = ChangeLog()
    log.updated("a", ["department"])
    log.updated("b", ["jobTitle"])
    log.updated("a", ["jobTitle"])
    assert [(t.user_id, t.seq) for t in log.after(0)] == [("b", 2), ("a", 3)]
    assert [t.user_id for t in log.after(2)] == ["a"]
    assert log.tracks["a"].changed_since(1) == {"jobTitle"}
    assert log.tracks["a"].changed_since(0) == {"department", "jobTitle"}


def test_an_update_that_changes_nothing_takes_no_number() -> None:
    log = ChangeLog()
    log.updated("a", [])
    assert log.sequence == 0 and list(log.after(0)) == []


def test_removal_and_restore_are_recorded_in_order() -> None:
    log = ChangeLog()
    log.removed("a", "changed")
    assert log.tracks["a"].removed == "changed"
    log.restored("a")
    track = log.tracks["a"]
    assert (track.removed, track.appeared, track.properties) == (None, 2, {})
    log.updated("a", ["department"])
    log.removed("a", "changed")
    log.restored("a")
    assert log.tracks["a"].properties == {"department": 3}  # kept across the deletion
    log.removed("a", "changed")
    log.removed("a", "deleted")
    assert log.tracks["a"].removed == "deleted"


def test_memory_is_bounded_by_the_users_that_changed_not_the_changes() -> None:
    log = ChangeLog()
    for round_number in range(20_000):
        log.updated(f"user-{round_number % 5}", ["department"])
    assert log.sequence == 20_000
    assert len(log.tracks) == 5
    assert log.index_size <= 2 * 5 + 1024 + 1  # superseded entries are compacted away
    assert [t.seq for t in log.after(19_990)] == list(range(19_996, 20_001))


def test_a_new_log_has_a_new_epoch() -> None:
    assert ChangeLog().epoch != ChangeLog().epoch
