"""The REST edge's own response shapes: ``rest`` (the error body and per-route error docs), ``openai`` (the OpenAI
protocol's requests and answers) and ``jobs`` (a job's state as /jobs answers it). Result shapes the core defines
(``inference.results``) are used as they are."""
