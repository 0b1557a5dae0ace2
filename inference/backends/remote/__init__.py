"""A model served elsewhere over the OpenAI protocol: ``backend`` (the backend), ``replicas`` (the replica pool)
and ``wire`` (the OpenAI chat-completions wire format).

Nothing is imported here, so that httpx is imported only when a remote model is used."""
