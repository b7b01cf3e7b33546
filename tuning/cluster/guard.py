"""The chief's checks of every call to its oracle.

KerasTuner's OracleServicer believes every caller. Here:
- a call without the search's secret (tuning/cluster/secret.py) in its
  metadata is refused with UNAUTHENTICATED, and the chief says so in one
  line (loopback is no trust boundary on a machine several users share);
- a worker names itself in every call and may take trials for itself only;
  a trial is updated or ended only by the worker that holds it, with the
  hyperparameters the chief handed out, all inside the search space; a new
  hyperparameter (UpdateSpace) is refused;
- a worker that sends nothing for `trial_timeout` seconds (ours ask for
  their trial after every epoch: tuning/search/tuners.py) is forgotten: its
  trial goes back to the queue for the next worker, so the chief (which
  KerasTuner has wait for every worker it has seen) ends; its next call
  about that trial is refused with one line, which stops it. While a trial
  runs, a worker with nothing to do waits (IDLE) instead of ending, so as
  to take the trial if it comes back.
"""

import hmac
import re
import threading
import time

import grpc
import keras_tuner as kt

from keras_lrelu import _compat as compat

TOKEN_KEY = "authorization"
WORKER_KEY = "x-keras-lrelu-worker"
WORKER_ID = re.compile(r"[\w.\-]{1,64}")
LOGGED_REFUSALS = 100  # then one line says the rest are counted, not printed


def client_metadata(token, worker_id):
    """What a worker sends with every call."""
    return ((TOKEN_KEY, f"Bearer {token}"), (WORKER_KEY, worker_id))


class Guard(grpc.ServerInterceptor):
    """Checks every call to the chief's servicer (see the module's text);
    `outside_space(values)` names the values a search space does not hold."""

    def __init__(self, oracle, token, trial_timeout, outside_space, log=print):
        self.oracle = oracle
        self._expected = f"Bearer {token}".encode()
        self.trial_timeout = trial_timeout
        self.outside_space = outside_space
        self.log = log
        self.refused = 0
        self.forgot_any = False
        self._heard = {}  # worker -> time.monotonic() of its last call
        self._holders = {}  # trial id -> the worker that holds it
        self._forgotten = {}  # trial id -> the workers it was taken from
        self._late = set()  # (trial id, worker): told once
        self._lock = threading.Lock()

    # grpc.ServerInterceptor: the secret, before any servicer method runs.
    def intercept_service(self, continuation, details):
        metadata = dict(details.invocation_metadata or ())
        given = str(metadata.get(TOKEN_KEY, "")).encode()
        if hmac.compare_digest(given, self._expected):
            return continuation(details)
        method = details.method.rsplit("/", 1)[-1]

        def refuse(request, context):
            self._log_refusal(f"chief: refused {method} from {context.peer()}: no valid search token")
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "this call does not carry the search's token")

        return grpc.unary_unary_rpc_method_handler(refuse)

    def caller(self, context):
        """The worker a call comes from (its metadata), heard from now."""
        worker = dict(context.invocation_metadata()).get(WORKER_KEY, "")
        if not WORKER_ID.fullmatch(worker):
            self._refuse(
                context, grpc.StatusCode.INVALID_ARGUMENT, f"a call names no worker ({worker[:64]!r})"
            )
        with self._lock:
            self._heard[worker] = time.monotonic()
        return worker

    def check_create(self, context, tuner_id):
        worker = self.caller(context)
        if tuner_id != worker:
            self._refuse(
                context,
                grpc.StatusCode.PERMISSION_DENIED,
                f"{worker} asked for a trial as {tuner_id[:64]!r}; a worker takes trials for itself only",
            )
        return worker

    def on_created(self, worker):
        """Records the trial the oracle now runs for `worker`, if any."""
        trial = self.oracle.ongoing_trials.get(worker)
        if trial is not None:
            with self._lock:
                self._holders[trial.trial_id] = worker
                self._forgotten.get(trial.trial_id, set()).discard(worker)

    def check_holder(self, context, trial_id):
        """Refuses a call about a trial its caller does not hold."""
        worker = self.caller(context)
        with self._lock:
            holder = self._holders.get(trial_id)
            forgotten = worker in self._forgotten.get(trial_id, ())
        if holder == worker:
            return worker
        if forgotten:
            with self._lock:  # one line per late worker and trial, however many calls it makes
                first = (trial_id, worker) not in self._late
                self._late.add((trial_id, worker))
            self._refuse(
                context,
                grpc.StatusCode.FAILED_PRECONDITION,
                f"ignored a late result for trial {trial_id} from {worker}: it was handed back after "
                f"{self.trial_timeout:g} s without a word from {worker}",
                log=first,
            )
        self._refuse(
            context,
            grpc.StatusCode.PERMISSION_DENIED,
            f"{worker} reported on trial {str(trial_id)[:40]!r}, which it does not hold",
        )

    def check_end(self, context, trial):
        """Refuses the end of a trial with hyperparameters other than those
        handed out or outside the search space; else the trial is released."""
        worker = self.check_holder(context, trial.trial_id)
        handed = self.oracle.trials[trial.trial_id].hyperparameters.values
        values = trial.hyperparameters.values
        changed = [
            f"{name}={values[name]!r}" for name in handed if name in values and values[name] != handed[name]
        ]
        outside = self.outside_space(values)
        if changed or outside:
            what = f"changed hyperparameters {', '.join(changed)}" if changed else outside
            self._refuse(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                f"refused the end of trial {trial.trial_id} from {worker}: {what}",
            )
        with self._lock:
            self._holders.pop(trial.trial_id, None)
        return worker

    def check_space(self, context, hyperparameters, space):
        """Refuses an UpdateSpace that adds or changes a hyperparameter."""
        worker = self.caller(context)
        known = {hp.name: hp.get_config() for hp in space.space}
        new = [hp.name for hp in hyperparameters.space if known.get(hp.name) != hp.get_config()]
        if new:
            self._refuse(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                f"refused {worker}'s new hyperparameters {', '.join(n[:40] for n in new)}: "
                "the search space is the chief's",
            )

    def forget_silent(self, now=None):
        """Forgets every worker silent for over `trial_timeout` seconds,
        handing its trial back to the queue; returns the ids of those trials."""
        now = time.monotonic() if now is None else now
        handed_back = []
        with self._lock:
            silent = [w for w, heard in self._heard.items() if now - heard > self.trial_timeout]
            for worker in silent:
                del self._heard[worker]
        for worker in silent:
            known = worker in self.oracle.tuner_ids
            self.forgot_any = self.forgot_any or known
            trial = compat.forget_tuner(self.oracle, worker)
            if trial is None:
                if known:
                    self.log(
                        f"chief: {worker} sent nothing for {self.trial_timeout:g} s; forgotten", flush=True
                    )
                continue
            with self._lock:
                self._holders.pop(trial.trial_id, None)
                self._forgotten.setdefault(trial.trial_id, set()).add(worker)
            handed_back.append(trial.trial_id)
            self.log(
                f"chief: {worker} sent nothing for {self.trial_timeout:g} s (--trial-timeout); trial "
                f"{trial.trial_id} goes back to the queue and {worker} is forgotten",
                flush=True,
            )
        return handed_back

    def _refuse(self, context, code, message, log=True):
        self._log_refusal(f"chief: {message}", log)
        context.abort(code, message)

    def _log_refusal(self, line, log=True):
        with self._lock:
            self.refused += 1
            count = self.refused
        if not log:
            return
        if count <= LOGGED_REFUSALS:
            self.log(line, flush=True)
        elif count == LOGGED_REFUSALS + 1:
            self.log(
                f"chief: over {LOGGED_REFUSALS} calls refused; the rest are counted, not printed", flush=True
            )


def guarded_servicer(servicer_class, oracle, guard, space):
    """KerasTuner's OracleServicer with `guard`'s checks before each call."""

    class GuardedServicer(servicer_class):
        def GetSpace(self, request, context):
            guard.caller(context)
            return super().GetSpace(request, context)

        def GetTrial(self, request, context):  # a worker's heartbeat, after every epoch
            guard.check_holder(context, request.trial_id)
            return super().GetTrial(request, context)

        def GetBestTrials(self, request, context):
            guard.caller(context)
            return super().GetBestTrials(request, context)

        def UpdateSpace(self, request, context):
            guard.check_space(context, kt.HyperParameters.from_proto(request.hyperparameters), space())
            return super().UpdateSpace(request, context)

        def CreateTrial(self, request, context):
            worker = guard.check_create(context, request.tuner_id)
            response = super().CreateTrial(request, context)
            guard.on_created(worker)
            return response

        def UpdateTrial(self, request, context):
            guard.check_holder(context, request.trial_id)
            return super().UpdateTrial(request, context)

        def EndTrial(self, request, context):
            guard.check_end(context, kt.engine.trial.Trial.from_proto(request.trial))
            return super().EndTrial(request, context)

    return GuardedServicer(oracle)
