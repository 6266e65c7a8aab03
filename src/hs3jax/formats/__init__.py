"""Input and output formats: HS3 JSON, pyhf JSON."""
