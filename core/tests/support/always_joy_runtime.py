"""A runtime plugin for core tests: the ``hf`` runtime answers "joy" to every prompt and runs on the CPU only."""

from olivine import ModelRuntime, ProviderProblem, hookimpl


class AlwaysJoy(ModelRuntime):
    """Answers "joy" to every prompt; runs on the CPU only."""

    name = "hf"

    @classmethod
    def provider_problem(cls, provider):
        if provider == "CPUExecutionProvider":
            return None
        return ProviderProblem(f"AlwaysJoy cannot run on {provider}", "use CPUExecutionProvider")

    def encode(self, text):
        return [ord(c) for c in text]

    def decode(self, ids):
        return "".join(chr(i) for i in ids)

    def generate(self, prompts, max_new_tokens):
        return [self.encode("joy")[:max_new_tokens] for _ in prompts]


@hookimpl
def register_runtimes(register):
    register(AlwaysJoy)
