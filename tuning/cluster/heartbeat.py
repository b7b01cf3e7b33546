"""A worker's heartbeat: while it trains a trial, a thread of its own asks
the chief for that trial every few seconds, so that the chief can hand on
the trial of a holder gone silent within a minute (tuning/cluster/guard.py,
HOLDER_SILENCE), however long an epoch takes. It beats only while training
progresses: once no epoch has ended for `stall_seconds` (--trial-timeout),
it falls silent, and the chief hands the trial of a hung worker on too."""

import threading
import time

from tuning.cluster.guard import HOLDER_SILENCE

BEAT_SECONDS = 10.0  # at most; a sixth of the chief's silence limit at its default


def interval(trial_timeout):
    """Seconds between beats: several within the chief's limit for a
    holder's silence, min(--trial-timeout, HOLDER_SILENCE)."""
    return min(BEAT_SECONDS, min(trial_timeout, HOLDER_SILENCE) / 4)


class Heartbeat:
    """Asks `oracle` (a worker's KerasTuner client) for trial `trial_id`
    every `every` seconds from a daemon thread, from `start()` to `stop()`,
    while `progressed()` was called (or the beat started) within
    `stall_seconds`. A refused or failed call ends the beats: the training
    thread's own next call about the trial (tuning/search/reporting.py) says why."""

    def __init__(self, oracle, trial_id, every, stall_seconds, clock=time.monotonic):
        self.oracle = oracle
        self.trial_id = trial_id
        self.every = every
        self.stall_seconds = stall_seconds
        self.beats = 0
        self._clock = clock
        self._progress = clock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{trial_id}", daemon=True)

    def start(self):
        self._thread.start()
        return self

    def progressed(self):
        """An epoch ended: training is not hung."""
        self._progress = self._clock()

    def stop(self):
        """Ends the beats; waits a moment for one under way (a stalled call is left to its timeout)."""
        self._stopped.set()
        self._thread.join(timeout=1.0)

    def _run(self):
        while not self._stopped.wait(self.every):
            if self._clock() - self._progress > self.stall_seconds:
                continue  # hung: let the chief hand the trial on
            try:
                self.oracle.get_trial(self.trial_id)
            except Exception:  # refused (handed back), or the chief is gone
                return
            self.beats += 1
