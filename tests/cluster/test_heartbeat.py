"""A worker's heartbeat (tuning/cluster/heartbeat.py), against a stand-in for KerasTuner's client."""

import threading
import time

import pytest

from tuning.cluster import heartbeat
from tuning.cluster.guard import HOLDER_SILENCE


class _Client:
    """Counts the calls about each trial; raises once told to (a refusal)."""

    def __init__(self):
        self.calls, self.refuse = [], threading.Event()

    def get_trial(self, trial_id):
        if self.refuse.is_set():
            raise RuntimeError("refused")
        self.calls.append(trial_id)


def _wait(condition, seconds=10):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "never happened"
        time.sleep(0.01)


def test_it_beats_while_training_progresses_and_stops_when_told():
    client = _Client()
    beat = heartbeat.Heartbeat(client, "3", every=0.01, stall_seconds=30).start()
    _wait(lambda: len(client.calls) >= 5)
    beat.stop()
    count = len(client.calls)
    time.sleep(0.1)
    assert len(client.calls) == count and set(client.calls) == {"3"} and beat.beats == count


def test_a_hung_training_falls_silent_and_an_epoch_brings_it_back():
    now = [0.0]
    client = _Client()
    beat = heartbeat.Heartbeat(client, "0", every=0.01, stall_seconds=5, clock=lambda: now[0]).start()
    _wait(lambda: len(client.calls) >= 2)
    now[0] = 5.5  # no epoch ended for longer than --trial-timeout
    time.sleep(0.05)
    silent = len(client.calls)
    time.sleep(0.1)
    assert len(client.calls) == silent
    beat.progressed()  # an epoch ended
    _wait(lambda: len(client.calls) > silent)
    beat.stop()


def test_a_refused_beat_ends_the_beats():
    client = _Client()
    beat = heartbeat.Heartbeat(client, "0", every=0.01, stall_seconds=30).start()
    _wait(lambda: len(client.calls) >= 1)
    client.refuse.set()
    beat._thread.join(timeout=5)
    assert not beat._thread.is_alive()


@pytest.mark.parametrize(
    "trial_timeout, every",
    [(3600, heartbeat.BEAT_SECONDS), (HOLDER_SILENCE, heartbeat.BEAT_SECONDS), (20, 5), (2, 0.5)],
)
def test_several_beats_fit_in_the_chief_s_limit(trial_timeout, every):
    assert heartbeat.interval(trial_timeout) == every
    assert heartbeat.interval(trial_timeout) <= min(trial_timeout, HOLDER_SILENCE) / 4
