"""Serving: the OpenAI-compatible API and the web chat page with its feedback database."""
