"""Publishing from a browser form: which of the chosen files make up the adapter folder, and what the form's
fields state. The publish itself is hub.registry.publish.local.publish_local_files, as for the demo."""

from __future__ import annotations

from fastapi import UploadFile

from hub.registry.publish.local import LocalFile
from hub.registry.publish.metadata import PublishMetadata


def folder_files(uploads: list[UploadFile]) -> list[LocalFile]:
    """(path inside the adapter folder, bytes) for each chosen file.

    Choosing the folder itself sends names like 'my-adapter/adapter_config.json'; that top folder is
    dropped. Hidden files ('.DS_Store', '.gitattributes') are skipped: they are never part of an adapter.
    """
    chosen = [(upload.filename.replace("\\", "/"), upload.file) for upload in uploads if upload.filename]
    tops = {path.split("/", 1)[0] for path, _ in chosen}
    if chosen and len(tops) == 1 and all("/" in path for path, _ in chosen):
        chosen = [(path.split("/", 1)[1], stream) for path, stream in chosen]
    return [(path, stream) for path, stream in chosen if not any(p.startswith(".") for p in path.split("/"))]


def metadata_from_form(form: dict[str, str]) -> PublishMetadata:
    """Blank fields are left to adapter_config.json (base model, task) or to nothing."""
    tags = [tag for tag in form.get("tags", "").replace(",", " ").split() if tag]
    return PublishMetadata(
        base_model=form.get("base_model") or None,
        base_model_type=form.get("base_model_type") or None,
        task=form.get("task") or None,
        license=form.get("license") or None,
        tags=tags,
        description=form.get("description") or None,
        private=True if form.get("private") else None,  # unticked keeps an existing adapter's visibility
    )
