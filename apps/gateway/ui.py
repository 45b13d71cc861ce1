"""The web UI's files, read once at start-up and served with strong ETags.

Browsers revalidate on every load (Cache-Control: no-cache) and get a 304 while the file is unchanged, so a
new deployment shows at once without a build step or file-name hashing.
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from stockwiz_runtime.problems import not_found

STATIC_DIR = Path(__file__).resolve().parent / "static"
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
}


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    content_type: str
    etag: str


class StaticFiles:
    def __init__(self, directory: Path = STATIC_DIR) -> None:
        self.files: dict[str, StaticFile] = {}
        for path in sorted(directory.iterdir()):
            if path.is_file() and not path.name.startswith("."):
                body = path.read_bytes()
                content_type = _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0]
                self.files[path.name] = StaticFile(
                    body=body,
                    content_type=content_type or "application/octet-stream",
                    etag='"' + hashlib.sha256(body).hexdigest()[:32] + '"',
                )

    def response(self, request: web.Request, name: str) -> web.Response:
        file = self.files.get(name)
        if file is None:
            raise not_found(f"no static file {name!r}")
        headers = {"ETag": file.etag, "Cache-Control": "no-cache"}
        if_none_match = request.headers.get("If-None-Match", "")
        if file.etag in (tag.strip().removeprefix("W/") for tag in if_none_match.split(",")):
            return web.Response(status=304, headers=headers)
        headers["Content-Type"] = file.content_type
        return web.Response(body=file.body, headers=headers)
