"""Upstream pass-through: Hugging Face requests for repositories this hub does not hold, answered from
HUB_UPSTREAM_URL and cached content-addressed in the hub's own storage (docs/huggingface.md, "Base models").

- client.py: the only code that talks to the upstream (only HUB_UPSTREAM_TOKEN goes out, never a caller's);
- cache.py: what was fetched (bytes, revisions, file metadata, documents), under `upstream/` (hub/storage/keys.py);
- digests.py: the content checks every byte passes before it is cached;
- service.py: upstream first, the cache when the upstream is unreachable or the answer cannot change.
"""

from hub.upstream.service import Absent, RemoteFile, Upstream, upstream_for

__all__ = ["Absent", "RemoteFile", "Upstream", "upstream_for"]
