"""olivine-azureml's registrations. Imports nothing heavy: azure-ai-ml loads only when a job runs."""

from olivine import hookimpl


@hookimpl
def register_systems(register):
    from olivine_azureml.system import AzureML

    register(AzureML)


@hookimpl
def register_resources(register):
    from olivine_azureml.resources import AzureMLDatastore, AzureMLModel, AzureMLRegistryModel

    register(AzureMLDatastore)
    register(AzureMLModel)
    register(AzureMLRegistryModel)
