"""The chief's checks of every call to its oracle.

KerasTuner's OracleServicer believes every caller. Here:
- a call without the search's secret (tuning/cluster/secret.py) in its
  metadata is refused with UNAUTHENTICATED, and the chief says so in one
  line (loopback is no trust boundary on a machine several users share);
- a worker names itself in every call and may take trials for itself only;
  a trial is updated or ended only by the worker that holds it, with the
  hyperparameters the chief handed out, all inside the search space, and
  ends with the chief's own values whatever the call says; a call that
  would add to the space (UpdateSpace, or an EndTrial's space) is refused;
- a call's content is checked before KerasTuner sees it (an UpdateTrial
  without the objective, an EndTrial with an unknown status), and should
  KerasTuner still raise, its lock is let go and the call refused in one
  line: no call can leave the oracle locked;
- a trial's holder that sends nothing about that trial for HOLDER_SILENCE
  seconds (or `trial_timeout`, if shorter; ours ask every few seconds while
  they train: tuning/cluster/heartbeat.py), or any other worker silent for
  `trial_timeout`, is forgotten: its trial goes back to the queue, so the
  chief (which KerasTuner has wait for every worker it has seen) ends; its
  next call about that trial is refused with one line, which stops it.
  While a trial runs, a worker with nothing to do waits (IDLE) instead of
  ending, so as to take the trial if it comes back.
"""

import hmac
import itertools
import re
import threading
import time

import grpc

from keras_lrelu import _compat as compat

TOKEN_KEY = "authorization"
WORKER_KEY = "x-keras-lrelu-worker"
WORKER_ID = re.compile(r"[\w.\-]{1,64}")
LOGGED_REFUSALS = 100  # then one line says the rest are counted, not printed
READ_TIMEOUT = 10  # seconds a call may take to send its one message (ours send it at once)
HOLDER_SILENCE = 60  # seconds a trial's holder may send nothing about it (ours: every 10 s at most)
ENDED = ("COMPLETED", "INVALID", "FAILED")  # what a worker may end a trial as


def objective_names(oracle):
    """The metric names the oracle's objective (one or several) scores by."""
    objective = oracle.objective
    return list(getattr(objective, "name_to_direction", None) or [objective.name])


def client_metadata(token, worker_id):
    """What a worker sends with every call."""
    return ((TOKEN_KEY, f"Bearer {token}"), (WORKER_KEY, worker_id))


class Guard(grpc.ServerInterceptor):
    """Checks every call to the chief's servicer (see the module's text);
    `outside_space(values)` names the values a search space does not hold."""

    def __init__(self, oracle, token, trial_timeout, outside_space, log=print, read_timeout=READ_TIMEOUT):
        self.oracle = oracle
        self.read_timeout = read_timeout
        self._expected = f"Bearer {token}".encode()
        self.trial_timeout = trial_timeout
        self.holder_silence = min(trial_timeout, HOLDER_SILENCE)
        self.outside_space = outside_space
        self.log = log
        self.refused = 0
        self.forgot_any = False
        self._heard = {}  # worker -> time.monotonic() of its last call
        self._holders = {}  # trial id -> the worker that holds it
        self._forgotten = {}  # trial id -> the workers it was taken from
        self._late = set()  # (trial id, worker): told once
        self._lock = threading.Lock()

    # grpc.ServerInterceptor: the secret, before any servicer method runs. A unary
    # handler would have gRPC read the request inside the call's thread first, so a
    # caller that opens a call and never sends its message would hold that thread:
    # every call is served as a stream here, refused without reading anything when
    # it lacks the secret, and otherwise cut off if its message is not in within
    # `read_timeout` seconds.
    def intercept_service(self, continuation, details):
        metadata = dict(details.invocation_metadata or ())
        given = str(metadata.get(TOKEN_KEY, "")).encode()
        method = details.method.rsplit("/", 1)[-1]
        if not hmac.compare_digest(given, self._expected):

            def refuse(requests, context):
                self._log_refusal(f"chief: refused {method} from {context.peer()}: no valid search token")
                context.abort(grpc.StatusCode.UNAUTHENTICATED, "this call does not carry the search's token")

            return grpc.stream_unary_rpc_method_handler(refuse)
        handler = continuation(details)
        if handler is None or handler.unary_unary is None:
            return handler

        def within_time(requests, context):
            request = self._first(requests, context, method)
            return handler.unary_unary(request, context)

        return grpc.stream_unary_rpc_method_handler(
            within_time,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _first(self, requests, context, method):
        """The call's one message, read in a thread of its own for at most
        `read_timeout` seconds; a call that sends none in time is cut off
        with one line (the reading thread ends with its connection)."""
        got = []
        reader = threading.Thread(target=lambda: got.extend(itertools.islice(requests, 1)), daemon=True)
        reader.start()
        reader.join(self.read_timeout)
        if not got:
            self._refuse(
                context,
                grpc.StatusCode.DEADLINE_EXCEEDED,
                f"cut off {method} from {context.peer()}: no message within {self.read_timeout:g} s",
            )
        return got[0]

    def caller(self, context, about=None):
        """The worker a call comes from (its metadata), heard from now unless
        it holds a trial and the call is not `about` that trial."""
        worker = dict(context.invocation_metadata()).get(WORKER_KEY, "")
        if not WORKER_ID.fullmatch(worker):
            self._refuse(
                context, grpc.StatusCode.INVALID_ARGUMENT, f"a call names no worker ({worker[:64]!r})"
            )
        with self._lock:
            held = [trial for trial, holder in self._holders.items() if holder == worker]
            if not held or about in held:
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
        worker = self.caller(context, about=trial_id)
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
                f"ignored a late result for trial {trial_id} from {worker}: it was handed back when "
                f"{worker} went silent",
                log=first,
            )
        self._refuse(
            context,
            grpc.StatusCode.PERMISSION_DENIED,
            f"{worker} reported on trial {str(trial_id)[:40]!r}, which it does not hold",
        )

    def check_end(self, context, trial, space):
        """Refuses the end of a trial whose hyperparameters leave out or
        change one the chief handed out, lie outside the search space, or
        come with a space that adds to the chief's; else the trial is
        released. Returns the hyperparameters to end it with: the chief's."""
        worker = self.check_holder(context, trial.trial_id)
        if trial.status not in ENDED:
            self._refuse(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                f"refused the end of trial {trial.trial_id} from {worker}: status {trial.status[:40]!r} "
                f"(one of {', '.join(ENDED)})",
            )
        self.check_space(context, trial.hyperparameters, space, worker)
        handed = self.oracle.trials[trial.trial_id].hyperparameters
        values = trial.hyperparameters.values
        changed = [
            f"{name}={values[name]!r}"
            for name in handed.values
            if name in values and values[name] != handed.values[name]
        ]
        left_out = [name for name in handed.values if name not in values]
        outside = self.outside_space(values)
        if changed or left_out or outside:
            what = (
                f"changed hyperparameters {', '.join(changed)}"
                if changed
                else f"left out hyperparameters {', '.join(left_out)}"
                if left_out
                else outside
            )
            self._refuse(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                f"refused the end of trial {trial.trial_id} from {worker}: {what}",
            )
        with self._lock:
            self._holders.pop(trial.trial_id, None)
        return handed.copy()

    def check_update(self, context, trial_id, metrics):
        """Refuses an update of a trial its caller does not hold, or one
        without the search's objective (KerasTuner would raise holding its lock)."""
        worker = self.check_holder(context, trial_id)
        missing = [name for name in objective_names(self.oracle) if name not in metrics]
        if missing:
            self._refuse(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                f"refused {worker}'s update of trial {trial_id}: it does not report {', '.join(missing)}",
            )

    def run(self, context, call):
        """`call()` (a KerasTuner oracle method); should it raise, the
        oracle's lock is let go and the call refused in one line."""
        try:
            return call()
        except Exception as error:  # KerasTuner's, on content it was not meant to see
            compat.release_oracle_lock(self.oracle)
            said = f"{type(error).__name__}: {(str(error).splitlines() or [''])[0][:200]}"
        self._refuse(
            context, grpc.StatusCode.INVALID_ARGUMENT, f"refused a call the oracle could not take ({said})"
        )

    def check_space(self, context, hyperparameters, space, worker=None):
        """Refuses hyperparameters (an UpdateSpace's, or an EndTrial's space)
        that add or change one: the search space is the chief's alone,
        whatever conditions would keep a new one inactive."""
        worker = self.caller(context) if worker is None else worker
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
        """Forgets every worker silent for longer than it may be (see the
        module's text), handing its trial back to the queue; returns the
        ids of those trials."""
        now = time.monotonic() if now is None else now
        handed_back = []
        with self._lock:
            holders = set(self._holders.values())
            limits = {w: self.holder_silence if w in holders else self.trial_timeout for w in self._heard}
            silent = {w: limits[w] for w, heard in self._heard.items() if now - heard > limits[w]}
            for worker in silent:
                del self._heard[worker]
        for worker, limit in silent.items():
            why = "--trial-timeout" if limit == self.trial_timeout else "about the trial it holds"
            known = worker in self.oracle.tuner_ids
            self.forgot_any = self.forgot_any or known
            trial = compat.forget_tuner(self.oracle, worker)
            if trial is None:
                if known:
                    self.log(f"chief: {worker} sent nothing for {limit:g} s; forgotten", flush=True)
                continue
            with self._lock:
                self._holders.pop(trial.trial_id, None)
                self._forgotten.setdefault(trial.trial_id, set()).add(worker)
            handed_back.append(trial.trial_id)
            self.log(
                f"chief: {worker} sent nothing for {limit:g} s ({why}); trial "
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
