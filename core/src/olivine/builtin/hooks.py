"""Built-in systems and metric types of olivine core, registered like any plugin's."""

from olivine.hookspecs import hookimpl


@hookimpl
def register_systems(register):
    from olivine.builtin.local_system import LocalSystem
    from olivine.builtin.python_environment import PythonEnvironment

    register(LocalSystem)
    register(PythonEnvironment)


@hookimpl
def register_evaluators(register):
    from olivine.builtin.evaluators.accuracy import Accuracy
    from olivine.builtin.evaluators.latency import Latency
    from olivine.builtin.evaluators.olive_names import SizeOnDisk, Throughput
    from olivine.builtin.evaluators.perplexity import Perplexity
    from olivine.builtin.evaluators.size import Size

    for evaluator in (Accuracy, Perplexity, Latency, Size, SizeOnDisk, Throughput):
        register(evaluator)
