"""Built-in metric types: accuracy, perplexity, latency, size. Heavy imports happen inside ``evaluate``."""
