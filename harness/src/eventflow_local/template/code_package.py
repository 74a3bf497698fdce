"""A function whose ``CodeUri`` is a ``.zip`` file runs from that package, unpacked.

Lambda runs a .zip deployment package extracted under ``/var/task``
(https://docs.aws.amazon.com/lambda/latest/dg/python-package.html), and SAM takes a ``CodeUri``
that is a local .zip file as that package (``sam deploy`` uploads it as is; ``sam local`` unzips
it before it runs the function:
https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-function.html#sam-function-codeuri).
The harness unzips it once into ``<template folder>/.aws-sam-local/<function>-package-<hash>``,
named by a hash of the archive's bytes, next to the builds (``runtime.build``): a restart reuses it,
a changed archive is unpacked again (the previous unpacking of that function is removed). An
archive that is no zip, or that names a path outside its folder, is one clear line.
"""

from __future__ import annotations

import hashlib
import shutil
import uuid
import zipfile
from pathlib import Path, PurePosixPath

CACHE_FOLDER = ".aws-sam-local"


class PackageError(ValueError):
    """The archive cannot be used as a deployment package (the reason is the message)."""


def _digest(archive: Path) -> str:
    sha = hashlib.sha256()
    with archive.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            sha.update(chunk)
    return sha.hexdigest()[:16]


def unpacked(archive: Path, cache_root: Path, owner: str) -> Path:
    """The folder holding the files of ``archive``, unpacked under ``cache_root/.aws-sam-local``."""
    if not zipfile.is_zipfile(archive):
        raise PackageError(f"{archive} is not a .zip deployment package")
    cache = cache_root / CACHE_FOLDER
    target = cache / f"{owner}-package-{_digest(archive)}"
    if target.is_dir():
        return target
    with zipfile.ZipFile(archive) as package:
        for name in package.namelist():
            parts = PurePosixPath(name).parts
            if name.startswith("/") or ".." in parts:
                raise PackageError(f"{archive}: entry {name!r} is outside the package")
        partial = cache / f".{owner}-package-{uuid.uuid4().hex}"
        package.extractall(partial)
    for previous in cache.glob(f"{owner}-package-*"):
        shutil.rmtree(previous, ignore_errors=True)
    partial.rename(target)
    return target
