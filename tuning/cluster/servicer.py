"""The chief's servicer: KerasTuner's OracleServicer with the guard's
checks (tuning/cluster/guard.py) before each call, and what a call asks of
the oracle made from the guard's answer (an ended trial keeps the values
the chief handed out), each oracle call run so that none leaves it locked."""

import keras_tuner as kt


def guarded_servicer(servicer_class, oracle, guard, space):
    """KerasTuner's OracleServicer with `guard`'s checks before each call."""

    class GuardedServicer(servicer_class):
        def GetSpace(self, request, context):
            guard.caller(context)
            return guard.run(context, lambda: super(GuardedServicer, self).GetSpace(request, context))

        def GetTrial(self, request, context):  # a worker's heartbeat, after every epoch
            guard.check_holder(context, request.trial_id)
            return guard.run(context, lambda: super(GuardedServicer, self).GetTrial(request, context))

        def GetBestTrials(self, request, context):
            guard.caller(context)
            return guard.run(context, lambda: super(GuardedServicer, self).GetBestTrials(request, context))

        def UpdateSpace(self, request, context):
            guard.check_space(context, kt.HyperParameters.from_proto(request.hyperparameters), space())
            return guard.run(context, lambda: super(GuardedServicer, self).UpdateSpace(request, context))

        def CreateTrial(self, request, context):
            worker = guard.check_create(context, request.tuner_id)
            response = guard.run(context, lambda: super(GuardedServicer, self).CreateTrial(request, context))
            guard.on_created(worker)
            return response

        def UpdateTrial(self, request, context):
            guard.check_update(context, request.trial_id, request.metrics)
            return guard.run(context, lambda: super(GuardedServicer, self).UpdateTrial(request, context))

        def EndTrial(self, request, context):
            kept = guard.check_end(context, kt.engine.trial.Trial.from_proto(request.trial), space())
            request.trial.hyperparameters.CopyFrom(kept.to_proto())  # the values it was handed
            return guard.run(context, lambda: super(GuardedServicer, self).EndTrial(request, context))

    return GuardedServicer(oracle)
