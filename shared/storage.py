"""Object storage for application documents: S3 (through boto3) or a local folder.

Both backends hand out the same thing for an upload, ``{"url", "fields"}``: a browser form
that POSTs the fields and then the file (``multipart/form-data``, the file last), and for a
download a short-lived URL. The bytes never pass through an API view of intake.

Chosen by ``PRIZE_STORAGE_URL``: ``s3://bucket/prefix`` or ``file:///path``. boto3 reads its
own variables (``AWS_ENDPOINT_URL``, credentials, region).

What a stored document must be (the checks after upload) and its download names are in
shared.storage_checks; every name of it is importable from here too.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
import uuid
from pathlib import Path
from typing import Iterator
from urllib.parse import unquote, urlencode, urlparse

from .storage_checks import (ALLOWED_TYPES, EXTENSION_ALIASES, OOXML_PART, CheckResult, StorageError,
                             check_copy, check_object, content_disposition, download_name, magic_matches,
                             safe_filename)

__all__ = ["ALLOWED_TYPES", "CHUNK", "DOWNLOAD_TTL", "EXTENSION_ALIASES", "MAX_SINGLE_COPY", "OOXML_PART",
           "UPLOAD_TTL", "CheckResult", "FileStorage", "S3Storage", "Storage", "StorageError", "check_copy",
           "check_object", "content_disposition", "download_name", "magic_matches", "open_storage",
           "safe_filename"]

CHUNK = 1024 * 1024
UPLOAD_TTL = 15 * 60
DOWNLOAD_TTL = 5 * 60
MAX_SINGLE_COPY = 5 * 1024 ** 3  # S3's limit for one CopyObject


class Storage:
    """The interface both backends give intake."""

    def presign_upload(self, key: str, content_type: str, max_bytes: int, key_prefix: str) -> dict:
        raise NotImplementedError

    def stat(self, key: str) -> tuple[int, str | None] | None:
        raise NotImplementedError

    def iter_chunks(self, key: str) -> Iterator[bytes]:
        raise NotImplementedError

    def copy(self, key: str, new_key: str, size: int | None = None) -> None:
        """Copy an object within the store (``size``: the source's, if known); StorageError if absent."""
        raise NotImplementedError

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store a small object that intake made itself (the PDF of a submission) under ``key``."""
        raise NotImplementedError

    def delete(self, key: str) -> None:
        raise NotImplementedError

    def list_keys(self, prefix: str) -> list[str]:
        raise NotImplementedError

    def download_url(self, key: str, filename: str, content_type: str) -> str:
        raise NotImplementedError


class S3Storage(Storage):
    def __init__(self, bucket: str, prefix: str, client=None):
        import boto3  # only the s3:// configuration needs it at run time
        from botocore.config import Config
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        # boto3 reads AWS_ENDPOINT_URL, credentials and region from the environment itself
        # SigV4: the regions opened since 2014 accept nothing older
        self.client = client or boto3.client("s3", config=Config(signature_version="s3v4"))

    def full_key(self, key: str) -> str:
        return self.prefix + key

    def presign_upload(self, key, content_type, max_bytes, key_prefix):
        post = self.client.generate_presigned_post(
            Bucket=self.bucket, Key=self.full_key(key), Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes],
                        ["starts-with", "$key", self.full_key(key_prefix)]],
            ExpiresIn=UPLOAD_TTL)
        return {"url": post["url"], "fields": post["fields"]}

    def stat(self, key):
        from botocore.exceptions import ClientError
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self.full_key(key))
        except ClientError as exc:
            if self._missing(exc):
                return None
            raise
        return head["ContentLength"], head.get("ContentType")

    @staticmethod
    def _missing(exc) -> bool:
        return exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}

    def iter_chunks(self, key):
        from botocore.exceptions import ClientError
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self.full_key(key))["Body"]
        except ClientError as exc:
            if self._missing(exc):
                raise StorageError(f"no object {key}") from None
            raise
        try:
            yield from body.iter_chunks(CHUNK)
        finally:
            body.close()

    def copy(self, key, new_key, size=None):
        """A server-side copy: one CopyObject up to S3's 5 GB limit for it, a multipart copy above."""
        from botocore.exceptions import ClientError
        source = {"Bucket": self.bucket, "Key": self.full_key(key)}
        try:
            if size is not None and size > MAX_SINGLE_COPY:
                from boto3.s3.transfer import TransferConfig
                self.client.copy(source, self.bucket, self.full_key(new_key),
                                 Config=TransferConfig(multipart_threshold=MAX_SINGLE_COPY,
                                                       multipart_chunksize=512 * 1024 * 1024))
            else:
                self.client.copy_object(Bucket=self.bucket, Key=self.full_key(new_key), CopySource=source)
        except ClientError as exc:
            if self._missing(exc):
                raise StorageError(f"no object {key}") from None
            raise

    def put(self, key, data, content_type):
        self.client.put_object(Bucket=self.bucket, Key=self.full_key(key), Body=data, ContentType=content_type)

    def delete(self, key):
        self.client.delete_object(Bucket=self.bucket, Key=self.full_key(key))

    def list_keys(self, prefix):
        keys = []
        for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.full_key(prefix)):
            keys += [o["Key"][len(self.prefix):] for o in page.get("Contents", [])]
        return keys

    def download_url(self, key, filename, content_type):
        return self.client.generate_presigned_url("get_object", Params={
            "Bucket": self.bucket, "Key": self.full_key(key),
            "ResponseContentDisposition": content_disposition(download_name(filename, content_type)),
            "ResponseContentType": content_type}, ExpiresIn=DOWNLOAD_TTL)


class FileStorage(Storage):
    """A local folder behind URLs signed with the secret key.

    With no object store to talk to, intake itself must receive the upload and serve the
    download; the routes doing that (services/intake/documents.py) verify the signed policy
    here, so the local folder keeps the presigned-URL interface of S3.
    """

    UPLOAD_PATH = "/storage/upload"
    DOWNLOAD_PATH = "/storage/download"

    def __init__(self, root: Path, secret_key: str, base_url: str = ""):
        self.root = Path(root)
        self.secret = hashlib.sha256(b"prize-storage:" + secret_key.encode()).digest()
        self.base_url = base_url.rstrip("/")

    def path(self, key: str) -> Path:
        if not key or key.startswith("/") or ".." in key.split("/") or "\x00" in key:
            raise StorageError(f"bad storage key {key!r}")
        return self.root / key

    def _sign(self, payload: bytes) -> str:
        return hmac.new(self.secret, payload, hashlib.sha256).hexdigest()

    def _seal(self, document: dict) -> tuple[str, str]:
        policy = base64.urlsafe_b64encode(json.dumps(document, separators=(",", ":")).encode()).decode()
        return policy, self._sign(policy.encode())

    def _open(self, policy: str, signature: str) -> dict:
        if not hmac.compare_digest(self._sign(policy.encode()), signature or ""):
            raise StorageError("the signature does not match")
        try:
            document = json.loads(base64.urlsafe_b64decode(policy.encode()))
        except ValueError:
            raise StorageError("the policy cannot be read") from None
        if document.get("expiration", 0) < time.time():
            raise StorageError("the link has expired")
        return document

    def presign_upload(self, key, content_type, max_bytes, key_prefix):
        policy, signature = self._seal({
            "expiration": int(time.time()) + UPLOAD_TTL, "key": key, "key_prefix": key_prefix,
            "content_type": content_type, "content_length_range": [1, max_bytes]})
        query = urlencode({"policy": policy, "signature": signature})
        return {"url": f"{self.base_url}{self.UPLOAD_PATH}?{query}",
                "fields": {"key": key, "Content-Type": content_type}}

    def read_upload_policy(self, policy: str, signature: str) -> dict:
        return self._open(policy, signature)

    def check_upload_fields(self, document: dict, fields: dict) -> None:
        """The posted form against the policy's conditions, as S3 checks a presigned POST."""
        key = fields.get("key", "")
        if key != document["key"] or not key.startswith(document["key_prefix"]):
            raise StorageError("the key is not the one this upload was signed for")
        if fields.get("Content-Type") != document["content_type"]:
            raise StorageError(f"the Content-Type must be {document['content_type']}")

    def incoming_path(self) -> Path:
        folder = self.root / ".incoming"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / uuid.uuid4().hex

    def _claim(self, key: str) -> None:
        """Mark the upload form of ``key`` used; StorageError if it already was.

        A signed form stays valid for its whole TTL, and the file it brought moves on to a
        checked key: the marker outlives that move, so the form cannot bring a second file.
        Markers older than any form still valid are removed as new ones are made.
        """
        folder = self.root / ".claimed"
        folder.mkdir(parents=True, exist_ok=True)
        marker = folder / hashlib.sha256(key.encode()).hexdigest()
        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            raise StorageError("a file was already uploaded with this form; start a new upload") from None
        stale = time.time() - UPLOAD_TTL - 300
        with os.scandir(folder) as entries:
            for entry in entries:
                try:
                    if entry.stat().st_mtime < stale:
                        os.unlink(entry.path)
                except FileNotFoundError:
                    pass

    def put_from(self, key: str, temp: Path, content_type: str) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        # A signed form stays valid for its whole TTL: without this, a file that already
        # passed the check could be swapped for another one under the same key.
        self._claim(key)
        try:
            os.link(temp, target)
        except FileExistsError:
            raise StorageError("a file was already uploaded with this form; start a new upload") from None
        temp.unlink()
        # the type the uploader declared, kept beside the file as S3 keeps it with the object
        target.with_name(target.name + ".type").write_text(content_type)

    def stat(self, key):
        target = self.path(key)
        if not target.is_file():
            return None
        kind = target.with_name(target.name + ".type")
        return target.stat().st_size, (kind.read_text() if kind.exists() else None)

    def copy(self, key, new_key, size=None):
        # A hard link: no bytes are copied, and none of the store's writers changes a file in
        # place (an upload is linked in whole from its temporary file, once), so the new key
        # keeps these bytes whatever happens to the old one.
        source, target = self.path(key), self.path(new_key)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, target)
        except FileNotFoundError:
            raise StorageError(f"no object {key}") from None
        kind = source.with_name(source.name + ".type")
        try:
            target.with_name(target.name + ".type").write_text(kind.read_text())
        except FileNotFoundError:
            pass

    def iter_chunks(self, key):
        try:
            f = open(self.path(key), "rb")
        except FileNotFoundError:
            raise StorageError(f"no object {key}") from None
        with f:
            while chunk := f.read(CHUNK):
                yield chunk

    def put(self, key, data, content_type):
        # written whole beside the target, then moved in: a reader never sees half a file
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = self.incoming_path()
        temp.write_bytes(data)
        os.replace(temp, target)
        target.with_name(target.name + ".type").write_text(content_type)

    def delete(self, key):
        for p in (self.path(key), self.path(key + ".type")):
            p.unlink(missing_ok=True)

    def list_keys(self, prefix):
        base = self.path(prefix.rstrip("/")) if prefix.strip("/") else self.root
        if not base.is_dir():
            return []
        return [str(p.relative_to(self.root)) for p in base.rglob("*")
                if p.is_file() and not p.name.endswith(".type")]

    def download_url(self, key, filename, content_type):
        policy, signature = self._seal({"expiration": int(time.time()) + DOWNLOAD_TTL, "key": key,
                                        "filename": download_name(filename, content_type),
                                        "content_type": content_type})
        query = urlencode({"policy": policy, "signature": signature})
        return f"{self.base_url}{self.DOWNLOAD_PATH}?{query}"

    def read_download(self, policy: str, signature: str) -> dict:
        return self._open(policy, signature)


def open_storage(url: str, secret_key: str, base_url: str = "") -> Storage:
    parts = urlparse(url)
    if parts.scheme == "s3":
        if not parts.netloc:
            raise StorageError("PRIZE_STORAGE_URL: s3:// needs a bucket, e.g. s3://bucket/prefix")
        return S3Storage(parts.netloc, parts.path)
    if parts.scheme == "file":
        return FileStorage(Path(unquote(parts.path)), secret_key, base_url)
    raise StorageError(f"PRIZE_STORAGE_URL: unsupported scheme {parts.scheme!r}")
