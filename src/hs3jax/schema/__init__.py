"""The document layer: pydantic models of HS3 documents."""
