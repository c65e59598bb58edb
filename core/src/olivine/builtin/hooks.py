"""Built-in systems (and, through data/evaluation modules, evaluators) of olivine core."""

from olivine.hookspecs import hookimpl


@hookimpl
def register_systems(register):
    from olivine.builtin.local_system import LocalSystem
    from olivine.builtin.python_environment import PythonEnvironment

    register(LocalSystem)
    register(PythonEnvironment)
