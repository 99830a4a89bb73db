"""Presence in the database: one row per user and worker, changes told once, dead workers swept."""

from datetime import timedelta

import pytest
from django.utils import timezone

from presence import selectors, services
from presence.models import Presence, Worker
from presence.signals import presence_changed

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def told():
    """Every presence_changed sent during the test, as (online, offline)."""
    changes: list[tuple[list[int], list[int]]] = []

    def receive(*, online, offline, **kwargs):
        changes.append((online, offline))

    presence_changed.connect(receive, dispatch_uid="test-told")
    yield changes
    presence_changed.disconnect(dispatch_uid="test-told")


def silence(*keys: str) -> None:
    Worker.objects.filter(key__in=keys).update(seen_at=timezone.now() - timedelta(hours=1))


def test_first_worker_announces_online_and_the_last_announces_offline(alice, told):
    assert services.presence_record(worker_key="w1", arrived={alice.pk}, left=set()) == (
        [alice.pk],
        [],
    )
    # A second worker (another tab, another server): already online, nothing to tell.
    assert services.presence_record(worker_key="w2", arrived={alice.pk}, left=set()) == ([], [])
    assert services.presence_record(worker_key="w1", arrived=set(), left={alice.pk}) == ([], [])
    assert selectors.is_online(user_id=alice.pk)
    assert services.presence_record(worker_key="w2", arrived=set(), left={alice.pk}) == (
        [],
        [alice.pk],
    )
    assert not selectors.is_online(user_id=alice.pk)
    assert told == [([alice.pk], []), ([], [alice.pk])]


def test_a_batch_records_many_users_in_one_transaction(alice, bob, carol, told):
    services.presence_record(worker_key="w", arrived={bob.pk}, left=set())
    online, offline = services.presence_record(
        worker_key="w", arrived={alice.pk, carol.pk}, left={bob.pk}
    )
    assert (online, offline) == (sorted([alice.pk, carol.pk]), [bob.pk])
    assert selectors.online_user_ids(user_ids=[alice.pk, bob.pk, carol.pk]) == {alice.pk, carol.pk}
    assert Presence.objects.count() == 2


def test_users_of_a_silent_worker_stop_counting(alice, settings):
    services.presence_record(worker_key="w", arrived={alice.pk}, left=set())
    settings.PARLEY = {**settings.PARLEY, "WORKER_STALE_SECONDS": -1}
    assert not selectors.is_online(user_id=alice.pk)


def test_sweeping_a_dead_worker_names_the_users_it_leaves_offline(alice, bob, carol, told):
    services.presence_record(worker_key="dead", arrived={alice.pk, bob.pk}, left=set())
    services.presence_record(worker_key="alive", arrived={bob.pk}, left=set())
    services.presence_record(worker_key="sweeper", arrived={carol.pk}, left=set())
    silence("dead", "sweeper")
    told.clear()

    # Bob has a tab on a live worker; the sweeper does not sweep itself.
    assert services.workers_sweep_stale(sweeper_key="sweeper") == [alice.pk]
    assert sorted(Presence.objects.values_list("worker__key", "user_id")) == sorted(
        [("alive", bob.pk), ("sweeper", carol.pk)]
    )
    assert services.workers_sweep_stale(sweeper_key="sweeper") == []  # told once
    assert told == [([], [alice.pk])]


def test_a_swept_worker_finds_its_users_no_longer_recorded(alice):
    services.presence_record(worker_key="paused", arrived={alice.pk}, left=set())
    assert selectors.worker_user_ids(worker_key="paused") == {alice.pk}
    silence("paused")
    services.workers_sweep_stale(sweeper_key="other")
    services.worker_beat(key="paused")  # it resumes: alive again, but its user is forgotten
    assert selectors.worker_user_ids(worker_key="paused") == set()


def test_recording_on_a_silent_worker_makes_it_live_again(alice):
    services.worker_beat(key="w")
    silence("w")
    services.presence_record(worker_key="w", arrived={alice.pk}, left=set())
    assert selectors.is_online(user_id=alice.pk)
