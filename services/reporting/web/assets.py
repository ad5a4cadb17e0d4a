"""Reporting's own static files: the vendored Chart.js, the dashboard script and its stylesheet, under
/reporting/assets/ (nothing else is served from there)."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

router = APIRouter(include_in_schema=False)

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
# Reporting's own static files, by their path under /reporting/assets/.
ASSETS: dict[str, Path] = {
    path.relative_to(STATIC_DIR).as_posix(): path for path in sorted(STATIC_DIR.rglob("*")) if path.is_file()
}
ASSET_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".md": "text/plain"}


def asset_type(path: Path) -> str:
    return ASSET_TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "text/plain; charset=utf-8"


@router.get("/assets/{name:path}")
async def asset(name: str) -> FileResponse:
    """Reporting's own static files: the vendored Chart.js, the dashboard script and its stylesheet."""
    found = ASSETS.get(name)
    if found is None:
        raise HTTPException(status_code=404)
    return FileResponse(found, media_type=asset_type(found), headers={"Cache-Control": "public, max-age=3600"})
