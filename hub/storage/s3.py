"""BlobStorage in an S3 bucket (AWS, MinIO, R2, Ceph...) through boto3.

Every botocore exception is turned into BlobNotFound / StorageError here, so nothing above this
module imports botocore.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from hub.storage.base import BlobNotFound, PartsRefused, StorageError, check_key, check_prefix, check_range

MIB = 1 << 20
# S3 refuses parts under 5 MiB (except the last) and allows 10,000 parts, so 8 MiB parts cover
# objects up to 80 GiB (far above any adapter) while a writer holds at most one part in memory.
PART_SIZE = 8 * MIB
MAX_SINGLE_COPY_BYTES = 5 * (1 << 30)  # S3's limit for one CopyObject request
MAX_PRESIGN_SECONDS = 7 * 24 * 3600  # SigV4 refuses to sign URLs valid for longer than 7 days
MAX_PARTS = 10_000  # S3's limit per multipart upload
_NOT_FOUND_CODES = frozenset({"NoSuchKey", "NotFound", "404"})  # HEAD errors carry no body, only "404"
_REFUSED_PART_CODES = frozenset({"EntityTooSmall", "InvalidPart", "InvalidPartOrder", "NoSuchUpload"})

_SESSION_LOCK = threading.Lock()

S3Client = Any  # boto3 builds its client classes at runtime; there is no static type to name


class S3BlobStorage:
    """Blobs as objects under s3://bucket/prefix/."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        client: S3Client | None = None,
        public_endpoint_url: str | None = None,
    ) -> None:
        if not bucket:
            raise ValueError("S3 bucket name is empty")
        self._bucket = bucket
        self._prefix = prefix.strip("/")
        if self._prefix:
            check_prefix(self._prefix + "/")
        self._key_prefix = f"{self._prefix}/" if self._prefix else ""
        self._client = client if client is not None else make_s3_client(endpoint_url, region)
        # Presigning is local (no request): a client on the endpoint clients reach signs URLs they can use.
        self._presigner = make_s3_client(public_endpoint_url, region) if public_endpoint_url else self._client

    @property
    def bucket(self) -> str:
        return self._bucket

    @property
    def client(self) -> S3Client:
        return self._client

    def writer(self, key: str) -> S3BlobWriter:
        return S3BlobWriter(self._client, self._bucket, self._full_key(key), self._uri(key))

    def put_bytes(self, key: str, data: bytes) -> None:
        with _s3_errors(self._uri(key)):
            self._client.put_object(Bucket=self._bucket, Key=self._full_key(key), Body=data)

    def iter_range(
        self, key: str, start: int = 0, end: int | None = None, chunk_size: int = 1 << 20
    ) -> Iterator[bytes]:
        check_range(start, end, chunk_size)
        # HEAD first: it raises BlobNotFound before streaming starts, and clipping the range to the
        # size avoids S3's 416 for ranges that start at or past the end (every range of an empty object).
        size = self.size(key)
        stop = size if end is None else min(end, size)
        if start >= stop:
            return iter(())
        return self._iter_object(key, start, stop, chunk_size)

    def read_range(self, key: str, start: int, length: int) -> bytes:
        if length < 0:
            raise ValueError(f"invalid length {length}")
        return b"".join(self.iter_range(key, start, start + length, chunk_size=max(length, 1)))

    def size(self, key: str) -> int:
        with _s3_errors(self._uri(key)):
            head = self._client.head_object(Bucket=self._bucket, Key=self._full_key(key))
        return int(head["ContentLength"])

    def modified(self, key: str) -> float:
        with _s3_errors(self._uri(key)):
            head = self._client.head_object(Bucket=self._bucket, Key=self._full_key(key))
        return head["LastModified"].timestamp()

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except BlobNotFound:
            return False
        return True

    def move(self, src: str, dst: str) -> None:
        # S3 has no rename: copy server-side, then delete. A crash in between leaves the source
        # behind as well, which is harmless: the garbage collector removes stale uploads.
        if src == dst:
            self.size(src)  # copying an object onto itself is an error in S3; only check it exists
            return
        source = {"Bucket": self._bucket, "Key": self._full_key(src)}
        small = self.size(src) <= MAX_SINGLE_COPY_BYTES
        with _s3_errors(self._uri(src)):
            if small:
                # One CopyObject request: some S3 servers have no UploadPartCopy (s3rver), and moto's is slow
                # (256 MB: 1.3 s against 10 s for client.copy's multipart copy, measured by bench/bench_publish).
                self._client.copy_object(CopySource=source, Bucket=self._bucket, Key=self._full_key(dst))
            else:
                self._client.copy(source, self._bucket, self._full_key(dst))  # multipart: CopyObject stops at 5 GB
        self.delete(src)

    def delete(self, key: str) -> None:
        with _s3_errors(self._uri(key)):
            self._client.delete_object(Bucket=self._bucket, Key=self._full_key(key))

    def list(self, prefix: str = "") -> Iterator[str]:
        check_prefix(prefix)
        return self._list_keys(self._key_prefix + prefix)

    def presigned_get_url(self, key: str, expires_s: int = 3600) -> str | None:
        if not 0 < expires_s <= MAX_PRESIGN_SECONDS:
            raise ValueError(f"expires_s must be in 1..{MAX_PRESIGN_SECONDS}, not {expires_s}")
        params = {"Bucket": self._bucket, "Key": self._full_key(key)}
        return self._presign("get_object", key, params, expires_s)

    def direct_part_size(self, size: int) -> int:
        return direct_part_size(size)

    def start_direct_upload(self, key: str, part_checksums: list[str], expires_s: int) -> list[str]:
        if not 0 < len(part_checksums) <= MAX_PARTS:
            raise ValueError(f"a multipart upload has 1..{MAX_PARTS} parts, not {len(part_checksums)}")
        target = {"Bucket": self._bucket, "Key": self._full_key(key)}
        with _s3_errors(self._uri(key)):
            upload_id = self._client.create_multipart_upload(**target, ChecksumAlgorithm="SHA256")["UploadId"]
        # botocore signs x-amz-checksum-sha256 into the URL: the client must send that very header, and a store that
        # checks checksums (AWS S3, MinIO) refuses a part whose bytes do not hash to it. moto does neither.
        return [
            self._presign(
                "upload_part",
                key,
                {**target, "UploadId": upload_id, "PartNumber": number, "ChecksumSHA256": checksum},
                expires_s,
            )
            for number, checksum in enumerate(part_checksums, start=1)
        ]

    def finish_direct_upload(self, key: str) -> None:
        upload_id = self._open_upload(key)
        if upload_id is None:
            raise BlobNotFound(f"no upload open at {self._uri(key)}")
        target = {"Bucket": self._bucket, "Key": self._full_key(key), "UploadId": upload_id}
        with _s3_errors(self._uri(key)):
            # The parts as storage holds them, not as the client says: it never names an ETag the hub would trust.
            parts = [_completed_part(part) for part in self._client.list_parts(**target).get("Parts", [])]
        if not parts:
            raise BlobNotFound(f"no part arrived for {self._uri(key)}")
        try:
            with _s3_errors(self._uri(key)):
                self._client.complete_multipart_upload(**target, MultipartUpload={"Parts": parts})
        except StorageError as exc:
            if _error_code(exc.__cause__) in _REFUSED_PART_CODES:
                raise PartsRefused(f"S3 would not join the parts sent to {self._uri(key)}: {exc}") from exc
            raise

    def abort_direct_upload(self, key: str) -> None:
        while (upload_id := self._open_upload(key)) is not None:
            S3BlobWriter(self._client, self._bucket, self._full_key(key), self._uri(key)).abort_upload(upload_id)

    def _open_upload(self, key: str) -> str | None:
        """The multipart upload open at key: the hub opens one per key (keys.direct_staging_key), never more."""
        full_key = self._full_key(key)
        with _s3_errors(self._uri(key)):
            found = self._client.list_multipart_uploads(Bucket=self._bucket, Prefix=full_key).get("Uploads", [])
        return next((upload["UploadId"] for upload in found if upload["Key"] == full_key), None)

    def _presign(self, operation: str, key: str, params: dict[str, Any], expires_s: int) -> str:
        with _s3_errors(self._uri(key)):
            return str(self._presigner.generate_presigned_url(operation, Params=params, ExpiresIn=expires_s))

    def describe(self) -> str:
        return f"s3://{self._bucket}/{self._prefix}"

    def _full_key(self, key: str) -> str:
        return self._key_prefix + check_key(key)

    def _uri(self, key: str) -> str:
        return f"s3://{self._bucket}/{self._key_prefix}{key}"

    def _iter_object(self, key: str, start: int, stop: int, chunk_size: int) -> Iterator[bytes]:
        with _s3_errors(self._uri(key)):
            response = self._client.get_object(
                Bucket=self._bucket, Key=self._full_key(key), Range=f"bytes={start}-{stop - 1}"
            )
            body = response["Body"]
            try:
                yield from body.iter_chunks(chunk_size)
            finally:
                body.close()  # returns the connection to the pool even if the reader stops early

    def _list_keys(self, full_prefix: str) -> Iterator[str]:
        strip = len(self._key_prefix)
        paginator = self._client.get_paginator("list_objects_v2")
        pages = paginator.paginate(Bucket=self._bucket, Prefix=full_prefix)
        with _s3_errors(f"s3://{self._bucket}/{full_prefix}"):
            for page in pages:  # S3 returns keys in UTF-8 byte order, which is Python's str order
                yield from (key for key in _page_keys(page, strip) if _is_valid_key(key))


class S3BlobWriter:
    """Buffers one part; a multipart upload starts only once more than one part is needed.

    If the process dies mid-upload, the parts stay (and are billed) until a bucket lifecycle rule
    (AbortIncompleteMultipartUpload) removes them; docs/deployment.md should recommend one.
    """

    def __init__(self, client: S3Client, bucket: str, full_key: str, uri: str, part_size: int = PART_SIZE) -> None:
        self._client = client
        self._target = {"Bucket": bucket, "Key": full_key}
        self._uri = uri
        self._part_size = part_size
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._state = "open"

    def write(self, data: bytes) -> None:
        self._check_open()
        self._buffer += data
        # Strictly more than a part: an object of exactly one part still goes out as one put_object.
        while len(self._buffer) > self._part_size:
            self._upload_part(bytes(self._buffer[: self._part_size]))
            del self._buffer[: self._part_size]

    def commit(self) -> None:
        self._check_open()
        self._state = "committing"  # a failed commit cannot be retried, only aborted
        if self._upload_id is None:
            with _s3_errors(self._uri):
                self._client.put_object(**self._target, Body=bytes(self._buffer))
        else:
            self._upload_part(bytes(self._buffer))  # the last part may be under 5 MiB
            self._complete()
        self._buffer = bytearray()
        self._state = "committed"

    def abort(self) -> None:
        if self._state in ("committed", "aborted"):
            return
        self._buffer = bytearray()
        if self._upload_id is not None:
            self._abort_upload()
        self._state = "aborted"

    def _upload_part(self, data: bytes) -> None:
        with _s3_errors(self._uri):
            if self._upload_id is None:
                self._upload_id = self._client.create_multipart_upload(**self._target)["UploadId"]
            number = len(self._parts) + 1
            response = self._client.upload_part(**self._target, UploadId=self._upload_id, PartNumber=number, Body=data)
        self._parts.append({"ETag": response["ETag"], "PartNumber": number})

    def _complete(self) -> None:
        with _s3_errors(self._uri):
            self._client.complete_multipart_upload(
                **self._target, UploadId=self._upload_id, MultipartUpload={"Parts": self._parts}
            )

    def _abort_upload(self) -> None:
        assert self._upload_id is not None
        self.abort_upload(self._upload_id)

    def abort_upload(self, upload_id: str) -> None:
        """Abort the multipart upload upload_id of this writer's key (gone already is fine)."""
        try:
            with _s3_errors(self._uri):
                self._client.abort_multipart_upload(**self._target, UploadId=upload_id)
        except StorageError as exc:
            if _error_code(exc.__cause__) != "NoSuchUpload":  # already aborted or completed elsewhere
                raise

    def _check_open(self) -> None:
        if self._state != "open":
            raise ValueError(f"writer for {self._uri} is {self._state}")


def make_s3_client(
    endpoint_url: str | None = None, region: str | None = None, *, config: Config | None = None
) -> S3Client:
    """An S3 client with the hub's timeouts, retries and addressing (or with config, if given)."""
    config = config or client_config(path_style=endpoint_url is not None)
    # Clients are thread-safe but building one from a shared Session is not, hence the lock; the
    # shared Session parses the S3 service model once instead of for every client (~0.1 s each).
    with _SESSION_LOCK:
        return _shared_session().client("s3", endpoint_url=endpoint_url, region_name=region, config=config)


@functools.cache
def _shared_session() -> boto3.session.Session:
    return boto3.session.Session()


def client_config(*, path_style: bool, connect_timeout: float = 5, max_attempts: int = 4) -> Config:
    """The botocore Config the hub uses; tests shorten the timeouts."""
    return Config(
        signature_version="s3v4",
        # MinIO, moto and most self-hosted S3 have no wildcard DNS for bucket.host names.
        s3={"addressing_style": "path" if path_style else "auto"},
        connect_timeout=connect_timeout,
        read_timeout=60,
        retries={"max_attempts": max_attempts, "mode": "standard"},
        # Starlette runs sync routes on 40 threads; botocore's default pool of 10 would make most
        # of them wait for a connection under load.
        max_pool_connections=40,
        # boto3 >= 1.36 adds CRC checksums that R2 and older MinIO/Ceph reject
        # (https://github.com/boto/boto3/issues/4392); the hub verifies sha256 of every blob itself.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )


@contextmanager
def _s3_errors(uri: str) -> Iterator[None]:
    """Map botocore exceptions to BlobNotFound (missing object) or StorageError (anything else)."""
    try:
        yield
    except ClientError as exc:
        code = _error_code(exc)
        if code in _NOT_FOUND_CODES:
            raise BlobNotFound(f"no blob at {uri}") from exc
        raise StorageError(f"S3 error {code} on {uri}: {exc}") from exc
    except BotoCoreError as exc:
        raise StorageError(f"S3 unreachable for {uri}: {exc}") from exc


def _error_code(exc: BaseException | None) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def direct_part_size(size: int) -> int:
    """The part size for a client sending `size` bytes straight to S3: PART_SIZE, or whole MiBs above it when
    PART_SIZE would need more than S3's 10,000 parts."""
    needed = -(-size // MAX_PARTS)
    return max(PART_SIZE, -(-needed // MIB) * MIB)


def _completed_part(part: dict[str, Any]) -> dict[str, Any]:
    done = {"ETag": part["ETag"], "PartNumber": part["PartNumber"]}
    if part.get("ChecksumSHA256"):  # S3 wants each part's checksum back when the upload has an algorithm
        done["ChecksumSHA256"] = part["ChecksumSHA256"]
    return done


def _page_keys(page: dict[str, Any], strip: int) -> Iterator[str]:
    return (item["Key"][strip:] for item in page.get("Contents", []))


def _is_valid_key(key: str) -> bool:
    # Skip objects this storage could never have written, such as the "folder/" markers that
    # S3 consoles create, so every listed key can be passed back to the other methods.
    try:
        check_key(key)
    except ValueError:
        return False
    return True
