"""olivine-azureml: the AzureML system and the azureml_* resources for olivine."""

__version__ = "0.1.0"
