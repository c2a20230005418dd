"""Training engine: the model-agnostic loop, checkpoints, logs, runtime choices."""
