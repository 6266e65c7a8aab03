"""Reading a workspace from a path, JSON text or a dict, with the format detected."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hs3jax.errors import DocumentError, FormatError
from hs3jax.formats.pyhf import is_pyhf, pyhf_to_hs3
from hs3jax.formats.writer import restore_names
from hs3jax.formats.xml import is_xml, read_xml
from hs3jax.schema.document import Document
from hs3jax.schema.parse import parse_document

__all__ = ["apply_patch", "read_document", "read_json"]


def read_json(source: str | os.PathLike[str] | Mapping[str, Any]) -> tuple[Any, str | None]:
    """JSON data and the file name (None for text or dicts) of ``source``."""
    if isinstance(source, Mapping):
        return dict(source), None
    if isinstance(source, os.PathLike) or (
        isinstance(source, str) and not source.lstrip().startswith(("{", "["))
    ):
        path = Path(source)
        if not path.exists():
            raise FormatError(
                "no such file", file=str(path), expected="an existing JSON file", show_found=False
            )
        if is_xml(path):  # HistFactory XML + ROOT files -> pyhf JSON data
            return read_xml(path), str(path)
        text = path.read_text(encoding="utf-8")
        file: str | None = str(path)
    else:
        text, file = str(source), None
    try:
        return json.loads(text), file
    except json.JSONDecodeError as exc:
        raise FormatError(
            f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
            file=file,
            expected="JSON text",
            found=text[max(0, exc.pos - 20) : exc.pos + 20],
        ) from None


def read_document(raw: Any, file: str | None = None) -> tuple[Document, str]:
    """Parse JSON data as HS3 or pyhf JSON; returns the document and the detected format."""
    if not isinstance(raw, Mapping):
        raise FormatError(
            "a workspace must be a JSON object",
            file=file,
            expected="an HS3 or pyhf JSON object",
            found=type(raw).__name__,
        )
    try:
        if is_pyhf(raw):
            return parse_document(pyhf_to_hs3(raw, file), file), "pyhf"
        if "distributions" in raw or "likelihoods" in raw or "metadata" in raw:
            # files hs3jax wrote for ROOT carry the map back to the original (pyhf) names
            return parse_document(restore_names(raw), file), "hs3"
    except DocumentError as exc:
        raise exc.with_file(file) from None
    raise FormatError(
        "cannot tell the format of this JSON object",
        file=file,
        expected="an HS3 document ('distributions', 'data', ...) or a pyhf workspace "
        "('channels', 'observations', 'measurements')",
        found=sorted(raw)[:10],
    )


def apply_patch(raw: Any, patch: Any, file: str | None = None) -> Any:
    """Apply one patch to workspace JSON.

    ``patch``: an RFC 6902 JSON Patch (a list of operations, or a path / JSON text of one); a
    pyhf patchset patch (:class:`hs3jax.formats.patchset.Patch`, from ``PatchSet[...]``); or a
    pair ``(patchset path / text / dict, patch name or values)``. Patchset patches check the
    patchset's digest of the background-only workspace first.
    """
    import jsonpatch

    from hs3jax.formats.patchset import Patch, PatchSet

    if isinstance(patch, tuple) and len(patch) == 2:
        patch = PatchSet.read(patch[0])[patch[1]]
    if isinstance(patch, Patch):
        return patch.apply(raw, file)
    ops, patch_file = (patch, None) if isinstance(patch, list) else read_json(patch)
    if isinstance(ops, Mapping):
        raise FormatError(
            "a JSON Patch must be a list of operations",
            file=patch_file,
            expected="[{'op': ..., 'path': ...}, ...]",
            found=sorted(ops)[:5],
        )
    try:
        return jsonpatch.apply_patch(raw, ops)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
        raise FormatError(
            f"JSON Patch does not apply: {exc}",
            file=patch_file or file,
            expected="operations whose paths exist in the workspace",
            show_found=False,
        ) from None
