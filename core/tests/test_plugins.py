"""Plugin discovery, failure isolation and registries, without pip-installing anything.

Each fake plugin is a real distribution as importlib.metadata sees one: a ``*.dist-info`` folder with
METADATA and entry_points.txt plus its hooks module, in a folder put on sys.path (and on PYTHONPATH
for CLI subprocesses). stevedore finds them exactly as it finds pip-installed plugins.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import click
import pytest
from olivine.errors import DuplicateNameError, PluginLoadError
from olivine.plugins import load_plugins

HEAVY = ("torch", "transformers", "peft", "datasets", "onnxruntime", "onnx", "azure", "bitsandbytes",
         "onnxruntime_genai")

GOOD_HOOKS = """\
    import click

    from olivine import Evaluator, Pass, Resource, System, hookimpl


    class Shout(Pass):
        \"\"\"Upper-case a model (test pass).\"\"\"

        name = "Shout"


    class Moon(System):
        \"\"\"Run passes on the moon (test system).\"\"\"

        name = "Moon"


    class Weight(Evaluator):
        \"\"\"Weigh a model (test metric type).\"\"\"

        name = "weight"


    class Bucket(Resource):
        \"\"\"Fetch from a bucket (test resource).\"\"\"

        name = "bucket"
        schemes = ("bucket",)


    @hookimpl
    def register_passes(register):
        register(Shout)


    @hookimpl
    def register_systems(register):
        register(Moon)


    @hookimpl
    def register_evaluators(register):
        register(Weight)


    @hookimpl
    def register_resources(register):
        register(Bucket)


    @hookimpl
    def register_commands(cli):
        @cli.command()
        def hello():
            \"\"\"Say hello (test command).\"\"\"
            click.echo("hello from the good plugin")
    """


class FakeSite:
    """A folder of fake distributions on sys.path; the modules it created are forgotten afterwards."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch):
        self.root = root
        self.modules: list[str] = []
        monkeypatch.syspath_prepend(str(root))
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]))
        for name in ("OLIVINE_LOAD_PLUGINS", "OLIVINE_STRICT_PLUGINS", "OLIVINE_PLUGIN_MODULES"):
            monkeypatch.delenv(name, raising=False)

    def add(self, dist: str, ep_name: str, hooks_code: str, version: str = "1.0.0", requires: tuple = ()) -> None:
        module = dist.replace("-", "_") + "_hooks"
        info = self.root / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        requirements = "".join(f"Requires-Dist: {r}\n" for r in requires)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n{requirements}")
        (info / "entry_points.txt").write_text(f"[olivine]\n{ep_name} = {module}\n")
        (self.root / f"{module}.py").write_text(textwrap.dedent(hooks_code))
        self.modules.append(module)

    def forget_modules(self) -> None:
        for module in self.modules:
            sys.modules.pop(module, None)


@pytest.fixture
def site(tmp_path, monkeypatch):
    root = tmp_path / "site"
    root.mkdir()
    fake = FakeSite(root, monkeypatch)
    yield fake
    fake.forget_modules()


def _info(plugins, name):
    return next(info for info in plugins.infos if info.name == name)


def _only(monkeypatch, *names):
    monkeypatch.setenv("OLIVINE_LOAD_PLUGINS", ",".join(names))


def test_an_uninstalled_plugin_is_found_through_its_entry_point(site, monkeypatch):
    site.add("olivine-good", "good", GOOD_HOOKS, version="1.2.3")
    _only(monkeypatch, "good")

    plugins = load_plugins()

    good = _info(plugins, "good")
    assert (good.distribution, good.version, good.module, good.error) == (
        "olivine-good", "1.2.3", "olivine_good_hooks", None)
    assert good.hooks == ["register_commands", "register_evaluators", "register_passes", "register_resources",
                          "register_systems"]
    for registry, name in ((plugins.passes, "Shout"), (plugins.systems, "Moon"), (plugins.evaluators, "weight"),
                           (plugins.resources, "bucket")):
        entry = registry.entry(name)
        assert (entry.plugin, entry.distribution, entry.version) == ("good", "olivine-good", "1.2.3")


def test_a_plugin_that_fails_to_import_is_recorded_and_the_others_load(site, monkeypatch, caplog):
    site.add("olivine-good", "good", GOOD_HOOKS)
    site.add("olivine-broken", "broken", "raise ImportError('needs the vendor SDK 4.2')\n", version="0.3.0")
    _only(monkeypatch, "good", "broken")

    plugins = load_plugins()

    broken = _info(plugins, "broken")
    assert (broken.distribution, broken.version) == ("olivine-broken", "0.3.0")
    assert broken.error == "ImportError: needs the vendor SDK 4.2"
    assert broken.hooks == []
    assert [info.name for info in plugins.failures()] == ["broken"]
    assert "Shout" in plugins.passes
    assert [r.getMessage() for r in caplog.records if r.name == "olivine.plugins"] == [
        "plugin broken (olivine-broken) failed: ImportError: needs the vendor SDK 4.2"]


def test_plugins_left_out_of_the_selection_are_not_even_imported(site, monkeypatch):
    site.add("olivine-good", "good", GOOD_HOOKS)
    site.add("olivine-broken", "broken", "raise ImportError('needs the vendor SDK 4.2')\n")
    site.add("olivine-noisy", "noisy", "import sys\nsys.modules['olivine_noisy_was_imported'] = sys\n")
    _only(monkeypatch, "good")

    plugins = load_plugins()

    assert "good" in [info.name for info in plugins.infos] and plugins.failures() == []
    assert "olivine_broken_hooks" not in sys.modules and "olivine_noisy_hooks" not in sys.modules
    assert "olivine_noisy_was_imported" not in sys.modules


def test_a_misspelled_hook_name_is_a_recorded_failure_not_a_crash(site, monkeypatch):
    site.add("olivine-typo", "typo", """\
        from olivine import Pass, hookimpl


        class Typo(Pass):
            name = "Typo"


        @hookimpl
        def register_pases(register):
            register(Typo)
        """)
    site.add("olivine-good", "good", GOOD_HOOKS)
    _only(monkeypatch, "typo", "good")

    plugins = load_plugins()

    typo = _info(plugins, "typo")
    assert typo.error.startswith("invalid hooks: ")
    assert "register_pases" in typo.error
    assert not plugins.pm.has_plugin("typo"), "a plugin with invalid hooks is unregistered"
    assert "Typo" not in plugins.passes
    assert "Shout" in plugins.passes


def test_a_hook_that_raises_or_registers_a_wrong_class_is_recorded(site, monkeypatch):
    site.add("olivine-raises", "raises", """\
        from olivine import hookimpl


        @hookimpl
        def register_passes(register):
            raise RuntimeError("license server unreachable")
        """)
    site.add("olivine-wrong", "wrong", """\
        from olivine import hookimpl


        class NotAPass:
            name = "NotAPass"


        @hookimpl
        def register_passes(register):
            register(NotAPass)
        """)
    _only(monkeypatch, "raises", "wrong")

    plugins = load_plugins()

    assert _info(plugins, "raises").error == "register_passes failed: RuntimeError('license server unreachable')"
    wrong = _info(plugins, "wrong").error
    assert wrong.startswith("register_passes failed: TypeError(")
    assert "is not a subclass of olivine.Pass" in wrong
    assert "NotAPass" not in plugins.passes


def test_strict_plugins_raises_on_the_first_failure(site, monkeypatch):
    site.add("olivine-broken", "broken", "import vendor_sdk_that_is_missing\n", version="0.3.0")
    _only(monkeypatch, "broken")
    monkeypatch.setenv("OLIVINE_STRICT_PLUGINS", "1")

    with pytest.raises(PluginLoadError) as raised:
        load_plugins()

    assert str(raised.value) == ("plugin broken (olivine-broken) failed: "
                                 "ModuleNotFoundError: No module named 'vendor_sdk_that_is_missing'")


def test_load_plugins_variable_loads_only_the_named_plugins(site, monkeypatch):
    site.add("olivine-good", "good", GOOD_HOOKS)
    site.add("olivine-broken", "broken", "raise ImportError('never imported')\n")
    _only(monkeypatch, "good")

    plugins = load_plugins()

    assert [info.name for info in plugins.infos] == ["builtin", "good"]
    assert "olivine_broken_hooks" not in sys.modules


def test_a_selected_plugin_brings_the_plugins_its_distribution_requires(site, monkeypatch):
    """olivine-modelbuilder's shape: it needs olivine-runtimes' runtimes to evaluate what it builds."""
    site.add("olivine-shared", "shared", "")
    site.add("olivine-good", "good", GOOD_HOOKS, requires=("olivine-shared>=1", 'olivine-broken; extra == "x"'))
    site.add("olivine-broken", "broken", "raise ImportError('never imported')\n")
    _only(monkeypatch, "good")

    plugins = load_plugins()

    assert sorted(info.name for info in plugins.infos) == ["builtin", "good", "shared"]
    assert "olivine_broken_hooks" not in sys.modules  # only an extra asks for it


def test_duplicate_names_are_an_error_naming_both_distributions(site, monkeypatch):
    site.add("olivine-good", "good", GOOD_HOOKS)
    site.add("olivine-copycat", "copycat", """\
        from olivine import Pass, hookimpl


        class Shout(Pass):
            \"\"\"Another pass called Shout.\"\"\"

            name = "Shout"


        @hookimpl
        def register_passes(register):
            register(Shout)
        """, version="9.0")
    _only(monkeypatch, "good", "copycat")

    plugins = load_plugins()  # loading succeeds so that `olivine plugins` can show the conflict
    with pytest.raises(DuplicateNameError) as raised:
        plugins.passes.entry("Shout")

    message = str(raised.value)
    assert plugins.conflicts() == [message]
    assert message.startswith("pass 'Shout' is registered twice: by ")
    assert "olivine-good (plugin good)" in message and "olivine-copycat (plugin copycat)" in message


def test_builtins_register_through_the_same_hooks():
    plugins = load_plugins()

    builtin = plugins.infos[0]
    assert (builtin.name, builtin.distribution, builtin.module) == ("builtin", "olivine", "olivine.builtin.hooks")
    assert "register_systems" in builtin.hooks
    assert plugins.pm.get_plugin("builtin").__name__ == "olivine.builtin.hooks"
    for name in ("LocalSystem", "PythonEnvironment"):
        entry = plugins.systems.entry(name)
        assert (entry.plugin, entry.distribution) == ("builtin", "olivine")


def test_register_commands_adds_a_command_and_a_failing_one_is_recorded(site, monkeypatch):
    site.add("olivine-good", "good", GOOD_HOOKS)
    site.add("olivine-badcli", "badcli", """\
        from olivine import hookimpl


        @hookimpl
        def register_commands(cli):
            raise ValueError("no such option")
        """)
    _only(monkeypatch, "good", "badcli")
    plugins = load_plugins()
    group = click.Group("olivine")

    plugins.call_register_commands(group)

    assert "hello" in group.commands
    assert _info(plugins, "badcli").error == "register_commands failed: ValueError('no such option')"


def test_the_cli_shows_plugin_commands_and_failures(site, monkeypatch):
    site.add("olivine-good", "good", GOOD_HOOKS)
    site.add("olivine-broken", "broken", "raise ImportError('needs the vendor SDK 4.2')\n", version="0.3.0")
    env = {**os.environ, "OLIVINE_LOAD_PLUGINS": "good,broken"}

    hello = subprocess.run([sys.executable, "-m", "olivine", "hello"], capture_output=True, text=True, env=env)
    listed = subprocess.run([sys.executable, "-m", "olivine", "plugins"], capture_output=True, text=True, env=env)

    assert (hello.returncode, hello.stdout) == (0, "hello from the good plugin\n")
    assert listed.returncode == 0
    rows = [line.split(None, 3) for line in listed.stdout.splitlines()]  # the columns are aligned
    assert ["broken", "olivine-broken", "0.3.0", "FAILED: ImportError: needs the vendor SDK 4.2"] in rows
    assert ["good", "olivine-good", "1.0.0", "register_commands, register_evaluators, register_passes, "
            "register_resources, register_systems"] in rows


def test_olivine_passes_imports_no_heavy_library():
    """With every plugin installed in this venv, listing passes must stay free of torch and friends."""
    wrapper = ("import atexit, json, sys\n"
               "atexit.register(lambda: print('MODULES=' + json.dumps(sorted(sys.modules))))\n"
               "from olivine.cli import main\n"
               "main(['passes'])\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OLIVINE_")}

    result = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True, env=env, timeout=120)

    assert result.returncode == 0, result.stderr
    modules = json.loads(result.stdout.rsplit("MODULES=", 1)[1])
    assert "olivine.plugins" in modules, "the wrapper must have loaded the plugins"
    assert sorted({name for name in modules if name.split(".")[0] in HEAVY}) == []


def test_a_load_failure_shows_its_traceback_only_with_debug(site):
    site.add("olivine-broken", "broken", "def helper():\n    raise ImportError('needs the vendor SDK 4.2')\n\n\n"
                                         "helper()\n")
    env = {**os.environ, "OLIVINE_LOAD_PLUGINS": "broken"}

    quiet = subprocess.run([sys.executable, "-m", "olivine", "plugins"], capture_output=True, text=True, env=env)
    loud = subprocess.run([sys.executable, "-m", "olivine", "--debug", "plugins"], capture_output=True, text=True,
                          env=env)

    assert "Traceback" not in quiet.stderr
    assert quiet.stderr.count("needs the vendor SDK 4.2") == 1
    assert "Traceback" in loud.stderr and "in helper" in loud.stderr


def test_a_hooks_module_reached_twice_is_loaded_once(site, monkeypatch):
    """A developer names an installed plugin's hooks module in OLIVINE_PLUGIN_MODULES too."""
    site.add("olivine-good", "good", GOOD_HOOKS)
    _only(monkeypatch, "good")
    monkeypatch.setenv("OLIVINE_PLUGIN_MODULES", "olivine_good_hooks")

    plugins = load_plugins()

    assert [(i.name, i.error) for i in plugins.infos] == [("builtin", None), ("olivine_good_hooks", None)]
    assert plugins.passes.entry("Shout").plugin == "olivine_good_hooks"
