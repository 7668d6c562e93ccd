"""Secrets and their versions, in SQLite (`<state>/secrets.db`), with Secrets Manager's rules.

Why SQLite: secret values must survive a restart (a template's generated database password is
only ever written here), and the data is small, so a quick synchronous write on the control
plane's event loop costs less than handing it to a thread. The file and its -wal/-shm hold
plaintext secrets: they are created 0600, whatever the umask.

A secret has versions; a version carries staging labels (AWSCURRENT, AWSPREVIOUS, ...), each
label on at most one version of the secret. A secret is addressed by name, full ARN or partial
ARN (the ARN without its random `-abcdef` suffix). DeleteSecret with a recovery window only
marks the secret; it is removed when the window ends (checked on each call, so no timer).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import os
import re
import secrets
import string
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faaslab.functions.model import DEFAULT_ACCOUNT
from faaslab.secrets.errors import (
    MARKED_FOR_DELETION,
    SecretsError,
    invalid_parameter,
    invalid_request,
    not_found,
)
from faaslab.secrets.password import generate_password, secret_string_from_template_properties
from faaslab.secrets.references import json_value
from faaslab.state import open_db, transaction

CURRENT = "AWSCURRENT"
PREVIOUS = "AWSPREVIOUS"
NAME_MAX = 512
SECRET_MAX = 65536  # bytes of SecretString or SecretBinary
RECOVERY_DAYS_DEFAULT = 30
RECOVERY_DAYS_MIN, RECOVERY_DAYS_MAX = 7, 30
LIST_MAX = 100
VERSIONS_KEPT = 100  # unlabelled versions kept (plus any from the last 24 hours)
FILTER_KEYS = ("description", "name", "tag-key", "tag-value", "primary-region", "owning-service")
_DAY = 86400.0
_NAME = re.compile(r"^[A-Za-z0-9/_+=.@!-]+$")
_SUFFIX_CHARS = string.ascii_letters + string.digits
_WORDS = re.compile(r"[\s/_+=.@-]+")
RDS_TAG_CLUSTER = "aws:rds:primaryDBClusterArn"
RDS_PASSWORD_LENGTH = 28
RDS_PASSWORD_EXCLUDED = '/"@ '  # the characters RDS refuses in a master password

SCHEMA = """
CREATE TABLE IF NOT EXISTS secrets (
    id             INTEGER PRIMARY KEY,
    arn            TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL UNIQUE,
    description    TEXT,
    kms_key_id     TEXT,
    tags           TEXT NOT NULL,      -- [{"Key": ..., "Value": ...}] as JSON
    owning_service TEXT,
    created        REAL NOT NULL,
    last_changed   REAL NOT NULL,
    last_accessed  REAL,               -- a day (midnight UTC), as AWS reports it
    deleted        REAL,               -- when DeleteSecret was called (DeletedDate)
    deletion       REAL,               -- when the recovery window ends (DeletionDate)
    origin         TEXT                -- digest of the template properties that made the value
);
CREATE TABLE IF NOT EXISTS versions (
    secret         INTEGER NOT NULL,
    version_id     TEXT NOT NULL,
    string         TEXT,
    binary         BLOB,
    created        REAL NOT NULL,
    PRIMARY KEY (secret, version_id)
);
CREATE TABLE IF NOT EXISTS stages (
    secret         INTEGER NOT NULL,
    stage          TEXT NOT NULL,
    version_id     TEXT NOT NULL,
    PRIMARY KEY (secret, stage)
);
"""

_ROW_QUERY = "SELECT id, arn, name, deletion FROM secrets WHERE"  # a _Row, by a condition
_SECRET_COLUMNS = (
    "id, arn, name, description, kms_key_id, tags, owning_service, created, last_changed, "
    "last_accessed, deleted, deletion, origin"
)


@dataclass(frozen=True)
class Secret:
    """A secret's metadata (DescribeSecret, ListSecrets): never its value."""

    arn: str
    name: str
    description: str | None
    kms_key_id: str | None
    tags: list[dict[str, str]]
    owning_service: str | None
    created: float
    last_changed: float
    last_accessed: float | None
    deleted_date: float | None  # set while scheduled for deletion
    deletion_date: float | None
    versions: dict[str, list[str]] = field(default_factory=dict)  # labelled versions only
    origin: str | None = None

    @property
    def scheduled_for_deletion(self) -> bool:
        return self.deletion_date is not None


@dataclass(frozen=True)
class SecretVersion:
    """One version's value (GetSecretValue) and where it stands."""

    arn: str
    name: str
    version_id: str
    secret_string: str | None
    secret_binary: bytes | None
    stages: list[str]
    created: float


@dataclass(frozen=True)
class _Row:
    id: int
    arn: str
    name: str
    deletion: float | None


class SecretStore:
    """One region's secrets for the default account. Safe to share between threads (one
    connection, one lock); every call is a few quick SQLite statements."""

    def __init__(
        self,
        path: Path,
        region: str,
        account: str = DEFAULT_ACCOUNT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self.region = region
        self.account = account
        self.clock = clock
        self.arn_prefix = f"arn:aws:secretsmanager:{region}:{account}:secret:"
        self._lock = threading.RLock()
        path.parent.mkdir(parents=True, exist_ok=True)
        _create_private(path)
        self.conn = open_db(path, SCHEMA)
        # SQLite gives -wal/-shm the database's mode; this covers files left by older runs.
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.chmod(f"{path}{suffix}", 0o600)

    def generation(self) -> int:
        """Changes ever made (rows written): equal numbers mean nothing changed between two
        reads, so a caller may keep what it read (the Data API's secret cache)."""
        with self._lock:
            return int(self.conn.total_changes)

    def close(self) -> None:
        with self._lock:
            self.conn.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[float]:
        """One transaction under the lock, after dropping secrets whose window has ended;
        yields the time of the call."""
        with self._lock, transaction(self.conn):
            now = self.clock()
            self._purge(now)
            yield now

    # -- the operations

    def create(
        self,
        name: str,
        secret_string: str | None = None,
        secret_binary: bytes | None = None,
        *,
        client_request_token: str | None = None,
        description: str | None = None,
        kms_key_id: str | None = None,
        tags: Sequence[Mapping[str, str]] = (),
        owning_service: str | None = None,
        origin: str | None = None,
    ) -> tuple[Secret, str | None]:
        """CreateSecret: the new secret and its first version's id (None without a value).
        Retrying with the same token and value answers the existing version."""
        _check_name(name)
        _check_value(secret_string, secret_binary)
        tag_list = _check_tags(tags)
        with self._write() as now:
            row = self._row(f"{_ROW_QUERY} name = ?", name)
            if row is not None:
                if row.deletion is not None:
                    raise invalid_request(
                        "You can't create this secret because a secret with this name is "
                        "already scheduled for deletion."
                    )
                if client_request_token is not None and self._same_version(
                    row, client_request_token, secret_string, secret_binary
                ):
                    return self._secret(row.id), client_request_token
                raise SecretsError(
                    "ResourceExistsException",
                    f"The operation failed because the secret {name} already exists.",
                )
            arn = self._new_arn(name)
            cur = self.conn.execute(
                "INSERT INTO secrets (arn, name, description, kms_key_id, tags, owning_service, "
                "created, last_changed, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    arn,
                    name,
                    description,
                    kms_key_id,
                    json.dumps(tag_list),
                    owning_service,
                    now,
                    now,
                    origin,
                ),
            )
            row = _Row(int(cur.lastrowid or 0), arn, name, None)
            version_id = None
            if secret_string is not None or secret_binary is not None:
                version_id = self._put(
                    row, secret_string, secret_binary, client_request_token, None, now
                )
            return self._secret(row.id), version_id

    def get_value(
        self, secret_id: str, version_id: str | None = None, version_stage: str | None = None
    ) -> SecretVersion:
        """GetSecretValue: the AWSCURRENT version unless a version id or stage is given."""
        with self._write() as now:
            row = self._live(secret_id)
            stages = self._stages(row.id)
            if version_id is not None:
                version = self._version(row, version_id, stages)
                if version is None:
                    raise SecretsError(
                        "ResourceNotFoundException",
                        "Secrets Manager can't find the specified secret value for VersionId: "
                        f"{version_id}",
                    )
                if version_stage is not None and stages.get(version_stage) != version_id:
                    raise invalid_request(
                        "You provided a VersionStage that is not associated to the provided "
                        "VersionId."
                    )
            else:
                stage = version_stage or CURRENT
                if stage not in stages:
                    raise SecretsError(
                        "ResourceNotFoundException",
                        "Secrets Manager can't find the specified secret value for staging "
                        f"label: {stage}",
                    )
                version = self._version(row, stages[stage], stages)
                assert version is not None  # a label always names a kept version (see _put)
            day = now - now % _DAY
            self.conn.execute(
                "UPDATE secrets SET last_accessed = ? WHERE id = ? "
                "AND (last_accessed IS NULL OR last_accessed < ?)",
                (day, row.id, day),
            )
            return version

    def put_value(
        self,
        secret_id: str,
        secret_string: str | None = None,
        secret_binary: bytes | None = None,
        *,
        client_request_token: str | None = None,
        version_stages: Sequence[str] | None = None,
    ) -> SecretVersion:
        """PutSecretValue: a new version, labelled AWSCURRENT unless `version_stages` says
        otherwise (the version that loses AWSCURRENT gets AWSPREVIOUS)."""
        if secret_string is None and secret_binary is None:
            raise invalid_request("You must provide either SecretString or SecretBinary.")
        _check_value(secret_string, secret_binary)
        with self._write() as now:
            row = self._live(secret_id)
            version_id = self._put(
                row, secret_string, secret_binary, client_request_token, version_stages, now
            )
            version = self._version(row, version_id, self._stages(row.id))
            assert version is not None  # _put just wrote it (or found it, on a retry)
            return version

    def update(
        self,
        secret_id: str,
        *,
        description: str | None = None,
        kms_key_id: str | None = None,
        secret_string: str | None = None,
        secret_binary: bytes | None = None,
        client_request_token: str | None = None,
        tags: Sequence[Mapping[str, str]] | None = None,
        origin: str | None = None,
    ) -> tuple[Secret, str | None]:
        """UpdateSecret: new metadata, and a new AWSCURRENT version when a value is given;
        answers that version's id (None without a value)."""
        _check_value(secret_string, secret_binary)
        tag_list = None if tags is None else _check_tags(tags)
        with self._write() as now:
            row = self._live(secret_id)
            for column, value in (
                ("description", description),
                ("kms_key_id", kms_key_id),
                ("tags", None if tag_list is None else json.dumps(tag_list)),
                ("origin", origin),
            ):
                if value is not None:
                    self.conn.execute(
                        f"UPDATE secrets SET {column} = ?, last_changed = ? "
                        f"WHERE id = ? AND {column} IS NOT ?",
                        (value, now, row.id, value),
                    )
            version_id = None
            if secret_string is not None or secret_binary is not None:
                version_id = self._put(
                    row, secret_string, secret_binary, client_request_token, None, now
                )
            return self._secret(row.id), version_id

    def describe(self, secret_id: str) -> Secret:
        """DescribeSecret (a secret scheduled for deletion is described too)."""
        with self._write():
            return self._secret(self._find(secret_id).id)

    def delete(
        self,
        secret_id: str,
        *,
        recovery_window_in_days: int | None = None,
        force_delete_without_recovery: bool = False,
    ) -> tuple[str, str, float]:
        """DeleteSecret -> (ARN, name, DeletionDate). Without `force_delete_without_recovery`
        the secret stays, unreadable, for the recovery window (30 days by default)."""
        if recovery_window_in_days is not None and force_delete_without_recovery:
            raise invalid_parameter(
                "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays."
            )
        days = RECOVERY_DAYS_DEFAULT if recovery_window_in_days is None else recovery_window_in_days
        if not RECOVERY_DAYS_MIN <= days <= RECOVERY_DAYS_MAX:
            raise invalid_parameter(
                "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive)."
            )
        with self._write() as now:
            try:
                row = self._find(secret_id)
            except SecretsError:
                if not force_delete_without_recovery:
                    raise
                # AWS answers a forced delete of a missing secret without an error.
                if secret_id.startswith("arn:"):
                    return secret_id, secret_id.split(":")[-1], now
                return self.arn_prefix + secret_id, secret_id, now
            if force_delete_without_recovery:
                self._remove(row.id)
                return row.arn, row.name, now
            if row.deletion is not None:
                raise invalid_request(MARKED_FOR_DELETION)
            deletion = now + days * _DAY
            self.conn.execute(
                "UPDATE secrets SET deleted = ?, deletion = ? WHERE id = ?",
                (now, deletion, row.id),
            )
            return row.arn, row.name, deletion

    def restore(self, secret_id: str) -> tuple[str, str]:
        """RestoreSecret: cancel a scheduled deletion -> (ARN, name)."""
        with self._write():
            row = self._find(secret_id)
            self.conn.execute(
                "UPDATE secrets SET deleted = NULL, deletion = NULL WHERE id = ?", (row.id,)
            )
            return row.arn, row.name

    def list_secrets(
        self,
        *,
        max_results: int | None = None,
        next_token: str | None = None,
        filters: Sequence[Mapping[str, Any]] = (),
        include_planned_deletion: bool = False,
        sort_order: str = "asc",
        sort_by: str = "created-date",
    ) -> tuple[list[Secret], str | None]:
        """ListSecrets: one page, and the token for the next one (None on the last page).
        Filters are ANDed, a filter's values ORed; a value starting with `!` negates."""
        limit = LIST_MAX if max_results is None else max_results
        if not 1 <= limit <= LIST_MAX:
            raise invalid_parameter(f"MaxResults must be between 1 and {LIST_MAX}.")
        checked = [_check_filter(f) for f in filters]
        offset = _decode_token(next_token)
        matching = [
            s
            for s in self.all(include_planned_deletion)
            if all(_matches(s, key, values, self.region) for key, values in checked)
        ]
        _sort(matching, sort_by, sort_order)
        page = matching[offset : offset + limit]
        more = offset + limit < len(matching)
        return page, _encode_token(offset + limit) if more else None

    def all(self, include_planned_deletion: bool = False) -> list[Secret]:
        """Every secret, oldest first."""
        with self._write():
            ids = [
                r[0]
                for r in self.conn.execute(
                    "SELECT id FROM secrets WHERE ? OR deletion IS NULL ORDER BY id",
                    (include_planned_deletion,),
                )
            ]
            return [self._secret(i) for i in ids]

    def tagged(self, key: str, value: str) -> str | None:
        """The ARN of the oldest secret (not scheduled for deletion) tagged `key`=`value`:
        one query, where `all()` would read every secret."""
        with self._write():
            r = self.conn.execute(
                "SELECT arn FROM secrets WHERE deletion IS NULL AND EXISTS (SELECT 1 FROM "
                "json_each(secrets.tags) WHERE json_extract(value, '$.Key') = ? "
                "AND json_extract(value, '$.Value') = ?) ORDER BY id LIMIT 1",
                (key, value),
            ).fetchone()
            return None if r is None else str(r[0])

    def resolve_reference(
        self,
        secret_id: str,
        json_key: str | None,
        version_stage: str | None,
        version_id: str | None,
    ) -> str:
        """A `{{resolve:secretsmanager:...}}` lookup (see references.Lookup). Raises
        ValueError with AWS's reason when the secret or its value cannot be read."""
        where = f"secret {secret_id}"
        try:
            version = self.get_value(secret_id, version_id, version_stage)
        except SecretsError as e:
            raise ValueError(f"{where}: {e.message}") from None
        if version.secret_string is None:
            raise ValueError(f"{where}: the secret holds SecretBinary, not SecretString")
        return json_value(version.secret_string, json_key, where)

    # -- internals (called with the lock held, inside a transaction)

    def _purge(self, now: float) -> None:
        expired = [
            r[0]
            for r in self.conn.execute(
                "SELECT id FROM secrets WHERE deletion IS NOT NULL AND deletion <= ?", (now,)
            )
        ]
        for secret_id in expired:
            self._remove(secret_id)

    def _remove(self, secret_id: int) -> None:
        for table, column in (("stages", "secret"), ("versions", "secret"), ("secrets", "id")):
            self.conn.execute(f"DELETE FROM {table} WHERE {column} = ?", (secret_id,))

    def _new_arn(self, name: str) -> str:
        while True:
            suffix = "".join(secrets.choice(_SUFFIX_CHARS) for _ in range(6))
            arn = f"{self.arn_prefix}{name}-{suffix}"
            if self.conn.execute("SELECT 1 FROM secrets WHERE arn = ?", (arn,)).fetchone() is None:
                return arn

    def _row(self, sql: str, value: str) -> _Row | None:
        r = self.conn.execute(sql, (value,)).fetchone()
        return None if r is None else _Row(int(r[0]), r[1], r[2], r[3])

    def _find(self, secret_id: str) -> _Row:
        """By name, full ARN, or partial ARN (the full ARN without its `-abcdef` suffix)."""
        row = None
        if secret_id.startswith("arn:"):
            row = self._row(f"{_ROW_QUERY} arn = ?", secret_id)
            if row is None and secret_id.startswith(self.arn_prefix):
                row = self._row(f"{_ROW_QUERY} name = ?", secret_id[len(self.arn_prefix) :])
        else:
            row = self._row(f"{_ROW_QUERY} name = ?", secret_id)
        if row is None:
            raise not_found()
        return row

    def _live(self, secret_id: str) -> _Row:
        row = self._find(secret_id)
        if row.deletion is not None:
            raise invalid_request(MARKED_FOR_DELETION)
        return row

    def _stages(self, secret_id: int) -> dict[str, str]:
        """stage -> version id"""
        rows = self.conn.execute(
            "SELECT stage, version_id FROM stages WHERE secret = ?", (secret_id,)
        ).fetchall()
        return {stage: vid for stage, vid in rows}

    def _same_version(
        self, row: _Row, version_id: str, secret_string: str | None, secret_binary: bytes | None
    ) -> bool:
        """Whether `version_id` exists with this value (an idempotent retry); raises
        ResourceExistsException if it exists with another value."""
        r = self.conn.execute(
            "SELECT string, binary FROM versions WHERE secret = ? AND version_id = ?",
            (row.id, version_id),
        ).fetchone()
        if r is None:
            return False
        if (r[0], None if r[1] is None else bytes(r[1])) != (secret_string, secret_binary):
            raise SecretsError(
                "ResourceExistsException",
                f"You can't use ClientRequestToken {version_id} because that value is already "
                f"in use for a version of secret {row.arn}.",
            )
        return True

    def _add_version(
        self,
        secret_id: int,
        version_id: str,
        secret_string: str | None,
        secret_binary: bytes | None,
        now: float,
    ) -> None:
        self.conn.execute(
            "INSERT INTO versions (secret, version_id, string, binary, created) "
            "VALUES (?, ?, ?, ?, ?)",
            (secret_id, version_id, secret_string, secret_binary, now),
        )

    def _put(
        self,
        row: _Row,
        secret_string: str | None,
        secret_binary: bytes | None,
        client_request_token: str | None,
        version_stages: Sequence[str] | None,
        now: float,
    ) -> str:
        version_id = client_request_token or str(uuid.uuid4())
        if self._same_version(row, version_id, secret_string, secret_binary):
            return version_id  # a retry: "the operation succeeds but does nothing"
        first = not self._stages(row.id)
        self._add_version(row.id, version_id, secret_string, secret_binary, now)
        stages = list(version_stages) if version_stages is not None else [CURRENT]
        if first and CURRENT not in stages:
            stages.append(CURRENT)  # a secret's first version is always AWSCURRENT
        self._attach(row.id, version_id, stages)
        self.conn.execute("UPDATE secrets SET last_changed = ? WHERE id = ?", (now, row.id))
        self.conn.execute(
            "DELETE FROM versions WHERE secret = ? AND created < ? "
            "AND version_id NOT IN (SELECT version_id FROM stages WHERE secret = ?) "
            "AND rowid NOT IN (SELECT rowid FROM versions WHERE secret = ? "
            "ORDER BY rowid DESC LIMIT ?)",
            (row.id, now - _DAY, row.id, row.id, VERSIONS_KEPT),
        )
        return version_id

    def _attach(self, secret_id: int, version_id: str, stages: Sequence[str]) -> None:
        """Move each label to `version_id`; AWSCURRENT's old version becomes AWSPREVIOUS."""
        current = self._stages(secret_id)
        for stage in dict.fromkeys(stages):
            old = current.get(stage)
            if old == version_id:
                continue
            if stage == CURRENT and old is not None:
                self.conn.execute(
                    "INSERT OR REPLACE INTO stages VALUES (?, ?, ?)", (secret_id, PREVIOUS, old)
                )
            self.conn.execute(
                "INSERT OR REPLACE INTO stages VALUES (?, ?, ?)", (secret_id, stage, version_id)
            )

    def _version(
        self, row: _Row, version_id: str, stages: Mapping[str, str]
    ) -> SecretVersion | None:
        """The version with its labels, from `stages` (the secret's, already read, to spare a
        query); None if there is no such version."""
        r = self.conn.execute(
            "SELECT string, binary, created FROM versions WHERE secret = ? AND version_id = ?",
            (row.id, version_id),
        ).fetchone()
        if r is None:
            return None
        labels = sorted(s for s, v in stages.items() if v == version_id)
        binary = None if r[1] is None else bytes(r[1])
        return SecretVersion(row.arn, row.name, version_id, r[0], binary, labels, float(r[2]))

    def _secret(self, secret_id: int) -> Secret:
        r = self.conn.execute(
            f"SELECT {_SECRET_COLUMNS} FROM secrets WHERE id = ?", (secret_id,)
        ).fetchone()
        versions: dict[str, list[str]] = {}
        for stage, vid in sorted(self._stages(secret_id).items()):
            versions.setdefault(vid, []).append(stage)
        return Secret(
            arn=r[1],
            name=r[2],
            description=r[3],
            kms_key_id=r[4],
            tags=json.loads(r[5]),
            owning_service=r[6],
            created=float(r[7]),
            last_changed=float(r[8]),
            last_accessed=None if r[9] is None else float(r[9]),
            deleted_date=None if r[10] is None else float(r[10]),
            deletion_date=None if r[11] is None else float(r[11]),
            versions=versions,
            origin=r[12],
        )


# -- what templates create


def deploy_template_secret(store: SecretStore, name: str, props: Mapping[str, Any]) -> str:
    """Create or update the secret of an `AWS::SecretsManager::Secret` (Properties resolved;
    `name` is its Name, or the one the loader chose) and answer its ARN, the resource's Ref.

    On a later `faaslab up` the secret is kept as it is, value included (a generated password
    is not generated again, and a value put since stays), unless SecretString or
    GenerateSecretString changed in the template: then, as CloudFormation does, a new version
    becomes AWSCURRENT. Raises ValueError with the reason."""
    value = secret_string_from_template_properties(props)
    origin = hashlib.sha256(
        json.dumps(
            [props.get("SecretString"), props.get("GenerateSecretString")],
            sort_keys=True,
            default=str,
        ).encode()
    ).hexdigest()
    description = _optional_str(props, "Description")
    kms_key_id = _optional_str(props, "KmsKeyId")
    tags = props.get("Tags") or []
    try:
        try:
            existing = store.describe(name)
        except SecretsError as e:
            if e.code != "ResourceNotFoundException":
                raise
            secret, _ = store.create(
                name,
                value,
                description=description,
                kms_key_id=kms_key_id,
                tags=tags,
                origin=origin,
            )
            return secret.arn
        if existing.scheduled_for_deletion:
            raise invalid_request(
                "You can't create this secret because a secret with this name is already "
                "scheduled for deletion. (Restore it with `aws secretsmanager restore-secret`, "
                "or remove it with `delete-secret --force-delete-without-recovery`.)"
            )
        changed = existing.origin != origin
        secret, _ = store.update(
            existing.arn,
            description=description,
            kms_key_id=kms_key_id,
            secret_string=value if changed else None,
            tags=tags,
            origin=origin,
        )
        return secret.arn
    except SecretsError as e:
        raise ValueError(f"secret {name}: {e.message}") from None


def ensure_rds_cluster_secret(
    store: SecretStore, cluster_arn: str, username: str, kms_key_id: str | None = None
) -> str:
    """The secret RDS keeps a cluster's master password in (`ManageMasterUserPassword`):
    `rds!cluster-<uuid>`, SecretString `{"username": ..., "password": ...}`, owned by rds and
    tagged with the cluster's ARN. Answers its ARN (the cluster's MasterUserSecret.SecretArn);
    the cluster's existing one when there is one, so a restart keeps the password. Read the
    password with `store.get_value(arn).secret_string`."""
    existing = store.tagged(RDS_TAG_CLUSTER, cluster_arn)
    if existing is not None:
        return existing
    password = generate_password(RDS_PASSWORD_LENGTH, exclude_characters=RDS_PASSWORD_EXCLUDED)
    secret, _ = store.create(
        f"rds!cluster-{uuid.uuid4()}",
        json.dumps({"username": username, "password": password}, separators=(",", ":")),
        description=f"Secret associated with primary RDS DB cluster: {cluster_arn}",
        kms_key_id=kms_key_id,
        tags=[
            {"Key": RDS_TAG_CLUSTER, "Value": cluster_arn},
            {"Key": "aws:secretsmanager:owningService", "Value": "rds"},
        ],
        owning_service="rds",
    )
    return secret.arn


def delete_rds_cluster_secret(store: SecretStore, cluster_arn: str) -> None:
    """Deleting a cluster deletes its managed secret at once, as RDS does."""
    for secret in store.all(include_planned_deletion=True):
        if {"Key": RDS_TAG_CLUSTER, "Value": cluster_arn} in secret.tags:
            store.delete(secret.arn, force_delete_without_recovery=True)


# -- helpers


def _create_private(path: Path) -> None:
    """Create the database file 0600 before SQLite opens it (SQLite then gives its -wal and
    -shm the same mode); tighten an existing one."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def _check_name(name: str) -> None:
    if not 1 <= len(name) <= NAME_MAX or not _NAME.match(name):
        raise invalid_parameter(
            "Invalid name. Must be a valid name containing alphanumeric characters, or any of "
            "the following: -/_+=.@!"
        )


def _check_value(secret_string: str | None, secret_binary: bytes | None) -> None:
    if secret_string is not None and secret_binary is not None:
        raise invalid_parameter(
            "You can't specify both a binary secret value and a string secret value in the "
            "same secret."
        )
    size = len(secret_string.encode()) if secret_string is not None else len(secret_binary or b"")
    if size > SECRET_MAX:
        raise invalid_parameter(
            f"The secret value is too large: {size} bytes, and Secrets Manager keeps at most "
            f"{SECRET_MAX}."
        )


def _check_tags(tags: Sequence[Mapping[str, str]]) -> list[dict[str, str]]:
    out = []
    for tag in tags:
        key, value = tag.get("Key"), tag.get("Value", "")
        if not isinstance(key, str) or not isinstance(value, str) or not key:
            raise invalid_parameter(f"Invalid tag {dict(tag)!r}: give a Key and a Value.")
        out.append({"Key": key, "Value": value})
    return out


def _optional_str(props: Mapping[str, Any], key: str) -> str | None:
    value = props.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{key} must be a string, got {value!r}")
    return value


def _check_filter(f: Mapping[str, Any]) -> tuple[str, list[str]]:
    key, values = f.get("Key"), f.get("Values")
    if key not in (*FILTER_KEYS, "all"):
        raise invalid_parameter(
            f"Invalid filter key {key!r}: use one of {', '.join((*FILTER_KEYS, 'all'))}."
        )
    if (
        not isinstance(values, list)
        or not values
        or not all(isinstance(v, str) and v for v in values)
    ):
        raise invalid_parameter(f"Filter {key} needs Values: a list of non-empty strings.")
    return str(key), values


def _matches(secret: Secret, key: str, values: list[str], region: str) -> bool:
    """Whether one filter admits the secret: any of its values does."""
    return any(_admits(secret, key, v, region) for v in values)


def _admits(secret: Secret, key: str, value: str, region: str) -> bool:
    if value.startswith("!"):
        return not _admits(secret, key, value[1:], region)
    if key == "name":
        return secret.name.startswith(value)
    if key == "tag-key":
        return any(t["Key"].startswith(value) for t in secret.tags)
    if key == "tag-value":
        return any(t["Value"].startswith(value) for t in secret.tags)
    if key == "primary-region":
        return region.startswith(value)
    if key == "owning-service":
        return (secret.owning_service or "").startswith(value)
    if key == "description":
        text = (secret.description or "").lower()
        words = [text, *_WORDS.split(text)]
        return any(w.startswith(value.lower()) for w in words if w)
    # "all": every word of the value starts a word of some attribute, ignoring case
    attributes = [secret.name, secret.description or "", secret.owning_service or "", region]
    attributes += [t["Key"] for t in secret.tags] + [t["Value"] for t in secret.tags]
    words = [w for a in attributes for w in _WORDS.split(a.lower()) if w]
    wanted = [w for w in _WORDS.split(value.lower()) if w]
    return bool(wanted) and all(any(w.startswith(x) for w in words) for x in wanted)


def _sort(secrets_: list[Secret], sort_by: str, sort_order: str) -> None:
    keys: dict[str, Callable[[Secret], Any]] = {
        "created-date": lambda s: s.created,
        "last-accessed-date": lambda s: s.last_accessed or 0.0,
        "last-changed-date": lambda s: s.last_changed,
        "name": lambda s: s.name,
    }
    if sort_by not in keys:
        raise invalid_parameter(f"Invalid SortBy {sort_by!r}: use one of {', '.join(keys)}.")
    if sort_order not in ("asc", "desc"):
        raise invalid_parameter(f"Invalid SortOrder {sort_order!r}: use asc or desc.")
    secrets_.sort(key=keys[sort_by], reverse=sort_order == "desc")


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _decode_token(token: str | None) -> int:
    if token is None:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        offset = None
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise SecretsError("InvalidNextTokenException", "The NextToken value is invalid.")
    return offset
