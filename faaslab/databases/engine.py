"""The real database servers behind clusters: MariaDB for aurora-mysql, PostgreSQL for
aurora-postgresql, from the OS packages.

One `EngineServer` per cluster owns a directory (`<state>/clusters/<id>/`):
    data/     the engine's data dir, created on `initialise()` (master user, database)
    run/      its Unix socket and pid file: the engine never listens on TCP, so clients
              reach it only through the cluster's endpoint
    tmp/      its temporary files (on disk, not in RAM)
    engine.log
As root, the engine runs as the packages' own user (`mysql`, `postgres`) inside a mount
namespace (see launcher.py); otherwise as the current user.

Control-plane work (creating the master user, resizing buffers, reading load) goes over an
admin account (`rdsadmin`, as Aurora's own) whose random password is kept beside the
cluster dir, readable only by faaslab. The sync drivers (PyMySQL, psycopg) run in a
thread: these calls are rare and small.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faaslab import linux
from faaslab.databases import launcher
from faaslab.databases.launcher import ENGINE_ROOT
from faaslab.databases.model import ClusterSpec, Engine
from faaslab.placement import unpin_child

log = logging.getLogger(__name__)

ADMIN_USER = "rdsadmin"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 60.0
READY_POLL_S = 0.002
PG_SOCKET_PORT = 5432  # names the socket file when PostgreSQL listens on no TCP port


class EngineError(Exception):
    """The engine could not be set up, started or reached; the message says why."""


@dataclass(frozen=True)
class EngineSettings:
    """What a capacity means to the engine."""

    buffer_pool_bytes: int
    max_connections: int


@dataclass(frozen=True)
class Load:
    """One sample of what the engine is doing."""

    connections: int  # client sessions (the admin's own excluded)
    queries: int  # cumulative statements executed
    cpu_seconds: float  # cumulative CPU time of the engine's processes
    busy: bool  # a query running, a transaction open or a lock held: not a scaling point
    sessions_total: int = 0  # client sessions ever opened: moves if anyone came and went


def find_program(*names: str) -> str | None:
    for name in names:
        pg_dirs = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
        path = os.environ.get("PATH", "").split(os.pathsep)
        for directory in [*path, "/usr/sbin", "/usr/bin", *map(str, pg_dirs)]:
            candidate = Path(directory) / name
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    return None


def _sql_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


class EngineServer(ABC):
    """One engine process for one cluster: initialise, start, stop, administer."""

    server_user: str  # the OS user the packages run the server as
    log_name = "engine.log"

    def __init__(self, host_dir: Path, spec: ClusterSpec) -> None:
        self.host_dir = host_dir
        self.spec = spec
        self.proc: asyncio.subprocess.Process | None = None
        self.as_root = os.geteuid() == 0
        # The path the engine sees its own directory at.
        self.engine_dir = ENGINE_ROOT if self.as_root else str(host_dir)
        self._run_fd: int | None = None  # O_PATH fd of run/: keeps socket paths short
        self._admin_conn: Any = None
        # Set before start() to also listen on 127.0.0.1:tcp_port (for direct connections,
        # see shortcut.py); None: the Unix socket only.
        self.tcp_port: int | None = None
        self.cgroup_procs: list[str] = []  # cgroup.procs files the engine joins at start
        self._admin_lock = threading.Lock()

    # -- layout
    @property
    def admin_secret_path(self) -> Path:
        return self.host_dir.parent / f"{self.host_dir.name}.admin"

    @property
    def admin_password(self) -> str:
        return self.admin_secret_path.read_text().strip()

    def run_dir_for_clients(self) -> str:
        """run/ as a short path this process can use (AF_UNIX names are <= 107 bytes)."""
        if self._run_fd is None:
            self._run_fd = os.open(self.host_dir / "run", os.O_PATH | os.O_DIRECTORY)
        return f"/proc/{os.getpid()}/fd/{self._run_fd}"

    @property
    @abstractmethod
    def socket_path(self) -> str:
        """The engine's Unix socket, as this process connects to it."""

    @property
    def initialised(self) -> bool:
        return (self.host_dir / "initialised").exists()

    def _owner(self) -> tuple[int, int]:
        if not self.as_root:
            return os.getuid(), os.getgid()
        try:
            pw = pwd.getpwnam(self.server_user)
        except KeyError:
            raise EngineError(
                f"user {self.server_user!r} does not exist: is the {self.spec.engine.server} "
                "package installed? (`make install` installs it)"
            ) from None
        return pw.pw_uid, pw.pw_gid

    def _make_dirs(self) -> None:
        uid, gid = self._owner()
        self.host_dir.mkdir(parents=True, exist_ok=True)
        for sub in ("", "run", "tmp"):
            d = self.host_dir / sub
            d.mkdir(exist_ok=True)
            os.chown(d, uid, gid)
            d.chmod(0o700)
        if not self.as_root and len(f"{self.host_dir}/run/.s.PGSQL.{PG_SOCKET_PORT}.lock") > 100:
            raise EngineError(
                f"the state dir path is too long for a Unix socket ({self.host_dir}); "
                "use a shorter --state-dir"
            )

    async def _spawn(self, argv: list[str]) -> asyncio.subprocess.Process:
        """Start a child whose output goes to engine.log; awaitable without a thread.
        As root the child enters its own mount namespace and the engine's user first
        (launcher.enter, run between fork and exec: no interpreter start)."""
        preexec = None
        if self.as_root:
            uid, gid = self._owner()
            preexec = functools.partial(
                launcher.enter,
                str(self.host_dir),
                uid,
                gid,
                list(self.cgroup_procs),
                int(self.stop_signal),
            )
        else:
            preexec = functools.partial(linux.set_parent_death_signal, int(self.stop_signal))
        preexec = functools.partial(_child_setup, preexec)
        log = open(self.host_dir / self.log_name, "ab")  # noqa: SIM115 (the child keeps it)
        try:
            return await asyncio.create_subprocess_exec(
                *argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C in faaslab's terminal is faaslab's to handle
                preexec_fn=preexec,
            )
        finally:
            log.close()

    async def _run(self, argv: list[str], what: str) -> None:
        proc = await self._spawn(argv)
        code = await proc.wait()
        if code != 0:
            raise EngineError(f"{what} failed (exit {code}): {self.log_tail()}")

    def log_tail(self, lines: int = 8) -> str:
        try:
            text = (self.host_dir / self.log_name).read_text(errors="replace")
        except OSError:
            return "(no engine log)"
        return " | ".join(text.strip().splitlines()[-lines:])

    # -- lifecycle
    async def initialise(self, settings: EngineSettings) -> None:
        """Create the data dir with the master user and database; leaves the engine running."""
        if self.initialised:
            raise EngineError(f"{self.host_dir} is already initialised")
        shutil.rmtree(self.host_dir / "data", ignore_errors=True)
        self._make_dirs()
        secret = secrets.token_urlsafe(24)
        self.admin_secret_path.touch(0o600)
        self.admin_secret_path.write_text(secret + "\n")
        await self._initialise(settings, secret)
        (self.host_dir / "initialised").touch()

    @abstractmethod
    async def _initialise(self, settings: EngineSettings, admin_secret: str) -> None: ...

    @abstractmethod
    def _server_argv(self, settings: EngineSettings) -> list[str]: ...

    async def start(self, settings: EngineSettings) -> None:
        """Start the engine and return once it accepts connections."""
        if self.running:
            return
        self._make_dirs()
        await self._outlive_orphan()
        self.proc = await self._spawn(self._server_argv(settings))
        await self._wait_ready()

    pid_file = "run/mysqld.pid"  # relative to the cluster dir
    server_names = ("mariadbd", "mysqld")

    async def _outlive_orphan(self) -> None:
        """An engine left by a faaslab that died is shutting down (it got its parent-death
        signal): wait for it to let go of the data dir; kill it if it will not."""
        try:
            pid = int((self.host_dir / self.pid_file).read_text().split()[0])
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() not in self.server_names:
                    return
        except (OSError, ValueError, IndexError):
            return
        log.warning(
            "%s: waiting for the engine left by an earlier run (pid %d)", self.host_dir, pid
        )
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            await asyncio.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.running and self.proc else None

    async def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.returncode is not None:
                raise EngineError(f"the engine exited while starting: {self.log_tail()}")
            if await self._ready():
                return
            # A resume's client waits on this: poll often (a check costs ~50 us).
            await asyncio.sleep(READY_POLL_S)
        await self.kill()
        raise EngineError(f"the engine did not start within {START_TIMEOUT_S:.0f} s")

    @abstractmethod
    async def _ready(self) -> bool: ...

    async def stop(self) -> None:
        """A clean shutdown (what a pause is); killed if it takes too long."""
        proc = self.proc
        if proc is None:
            return
        await asyncio.to_thread(self._drop_admin)  # (a shutdown waits for its sessions)
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(self.stop_signal)
            try:
                await asyncio.wait_for(proc.wait(), STOP_TIMEOUT_S)
            except TimeoutError:
                await self.kill()
        self.proc = None

    stop_signal = signal.SIGTERM

    async def kill(self) -> None:
        """SIGKILL the engine and everything it started (its session). (The admin
        connection breaks with it; the next admin call opens a new one.)"""
        proc = self.proc
        if proc is not None:
            with contextlib.suppress(ProcessLookupError):  # its whole session (pgid = pid)
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
        self.proc = None

    async def exited(self) -> int:
        """Wait until the engine process ends, for whatever reason; its exit status."""
        proc = self.proc
        if proc is None:
            return 0
        return await proc.wait()

    # -- administration (in a thread: the drivers are synchronous)
    async def admin(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return await asyncio.to_thread(self._admin_locked, sql, params)

    def _admin_locked(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        """One kept-open admin connection (sampling every few seconds would otherwise pay
        a login each time: ~5 ms of SCRAM on PostgreSQL); reopened once if it broke."""
        with self._admin_lock:
            for attempt in (1, 2):
                if self._admin_conn is None:
                    self._admin_conn = self._admin_connect()
                try:
                    return self._admin_run(self._admin_conn, sql, params)
                except EngineError:
                    raise
                except Exception as e:
                    self._close_admin()
                    if attempt == 2:
                        raise EngineError(f"admin query failed: {e}") from None
        raise AssertionError("unreachable")

    def _drop_admin(self) -> None:
        with self._admin_lock:
            self._close_admin()

    def _close_admin(self) -> None:
        conn, self._admin_conn = self._admin_conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    @abstractmethod
    def _admin_connect(self) -> Any: ...

    @abstractmethod
    def _admin_run(self, conn: Any, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    async def set_master_password(self, user: str, password: str) -> None: ...

    @abstractmethod
    async def apply(self, settings: EngineSettings) -> None:
        """Apply a new capacity to the running engine, as far as it can change online."""

    @abstractmethod
    async def load(self) -> Load: ...

    def cpu_seconds(self) -> float:
        """CPU time of the engine and its children (PostgreSQL forks one per client)."""
        pid = self.pid
        if pid is None:
            return 0.0
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                pids = [pid, *map(int, f.read().split())]
        except OSError:
            pids = [pid]
        total = 0
        for p in pids:
            try:
                with open(f"/proc/{p}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            total += int(fields[11]) + int(fields[12])  # utime + stime
        return total / os.sysconf("SC_CLK_TCK")


class MariaDB(EngineServer):
    """aurora-mysql: MariaDB's `mariadbd`, MySQL-compatible on the wire and in SQL."""

    server_user = "mysql"

    @property
    def socket_path(self) -> str:
        return f"{self.run_dir_for_clients()}/mysqld.sock"

    def _server_argv(self, settings: EngineSettings, init_file: str | None = None) -> list[str]:
        program = find_program("mariadbd", "mysqld")
        if program is None:
            raise EngineError("mariadbd not found: install mariadb-server (`make install` does)")
        d = self.engine_dir
        argv = [
            program,
            "--no-defaults",
            f"--datadir={d}/data",
            f"--socket={d}/run/mysqld.sock",
            f"--pid-file={d}/run/mysqld.pid",
            f"--tmpdir={d}/tmp",
            *(
                ("--skip-networking",)
                if self.tcp_port is None
                else ("--bind-address=127.0.0.1", f"--port={self.tcp_port}")
            ),
            "--skip-name-resolve",
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_general_ci",
            "--innodb-buffer-pool-chunk-size=1M",  # so online resizes are not rounded to 128M
            f"--innodb-buffer-pool-size={settings.buffer_pool_bytes}",
            f"--max-connections={settings.max_connections}",
            "--back-log=1024",  # the default, 80 + max_connections / 5, is below a burst
            "--innodb-log-file-size=16M",
            "--max-allowed-packet=64M",
        ]
        if self.as_root:
            argv.append(f"--user={self.server_user}")
        if init_file:
            argv.append(f"--init-file={init_file}")
        return argv

    async def _initialise(self, settings: EngineSettings, admin_secret: str) -> None:
        install = find_program("mariadb-install-db", "mysql_install_db")
        if install is None:
            raise EngineError("mariadb-install-db not found: install mariadb-server")
        d = self.engine_dir
        argv = [
            install,
            "--no-defaults",
            f"--datadir={d}/data",
            "--auth-root-authentication-method=socket",
            "--skip-test-db",
            "--innodb-log-file-size=16M",
        ]
        if self.as_root:
            argv.append(f"--user={self.server_user}")
        await self._run(argv, "mariadb-install-db")
        spec = self.spec
        master = _sql_string(spec.master_username)
        statements = [
            # The installer's socket-authenticated accounts would let anyone reaching the
            # socket through the endpoint in as root: gone. faaslab administers as rdsadmin.
            "DROP USER IF EXISTS 'root'@'localhost', 'mysql'@'localhost', ''@'localhost'",
            f"CREATE USER '{ADMIN_USER}'@'localhost' IDENTIFIED BY {_sql_string(admin_secret)}",
            f"GRANT ALL PRIVILEGES ON *.* TO '{ADMIN_USER}'@'localhost' WITH GRANT OPTION",
            f"CREATE USER {master}@'%' IDENTIFIED BY {_sql_string(spec.master_password)}",
            f"GRANT ALL PRIVILEGES ON *.* TO {master}@'%' WITH GRANT OPTION",
        ]
        if spec.database_name:
            statements.append(f"CREATE DATABASE IF NOT EXISTS `{spec.database_name}`")
        init = self.host_dir / "tmp" / "init.sql"
        init.write_text(";\n".join(statements) + ";\n")
        uid, gid = self._owner()
        os.chown(init, uid, gid)
        init.chmod(0o600)
        try:
            self._make_dirs()
            self.proc = await self._spawn(self._server_argv(settings, f"{d}/tmp/init.sql"))
            await self._wait_ready()
        finally:
            init.unlink(missing_ok=True)
        # The init file's errors only reach the log: check that it worked.
        try:
            await self.admin("SELECT 1")
        except EngineError:
            await self.kill()
            raise

    async def _ready(self) -> bool:
        """Ready once the socket answers with a handshake (protocol 10), not an error."""
        try:
            reader, writer = await asyncio.open_unix_connection(self.socket_path)
        except OSError:
            return False
        try:
            head = await asyncio.wait_for(reader.readexactly(5), 1.0)
            return head[4] == 10
        except (OSError, asyncio.IncompleteReadError, TimeoutError):
            return False
        finally:
            writer.close()

    def _admin_connect(self) -> Any:
        import pymysql

        try:
            return pymysql.connect(
                unix_socket=self.socket_path,
                user=ADMIN_USER,
                password=self.admin_password,
                connect_timeout=10,
                autocommit=True,
            )
        except pymysql.MySQLError as e:
            raise EngineError(f"cannot reach the engine as {ADMIN_USER}: {e}") from None

    def _admin_run(self, conn: Any, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with conn.cursor() as cur:
            cur.execute(sql, params or None)
            return list(cur.fetchall())

    async def set_master_password(self, user: str, password: str) -> None:
        await self.admin("ALTER USER %s@'%%' IDENTIFIED BY %s", (user, password))

    async def apply(self, settings: EngineSettings) -> None:
        await self.admin(
            "SET GLOBAL innodb_buffer_pool_size = %s, GLOBAL max_connections = %s",
            (settings.buffer_pool_bytes, settings.max_connections),
        )

    async def load(self) -> Load:
        cpu = await asyncio.to_thread(self.cpu_seconds)
        rows = await self.admin(
            "SELECT "
            " (SELECT COUNT(*) FROM information_schema.processlist"
            "   WHERE user NOT IN (%s, 'system user', 'event_scheduler') AND command <> 'Daemon'),"
            " (SELECT COUNT(*) FROM information_schema.processlist"
            "   WHERE user NOT IN (%s, 'system user', 'event_scheduler')"
            "   AND command = 'Query'),"
            " (SELECT COUNT(*) FROM information_schema.innodb_trx),"
            " (SELECT variable_value FROM information_schema.global_status"
            "   WHERE variable_name = 'QUESTIONS'),"
            " (SELECT variable_value FROM information_schema.global_status"
            "   WHERE variable_name = 'CONNECTIONS')",
            (ADMIN_USER, ADMIN_USER),
        )
        connections, running, transactions, questions, total = rows[0]
        return Load(
            int(connections), int(questions), cpu, bool(running or transactions), int(total)
        )


class PostgreSQL(EngineServer):
    """aurora-postgresql: PostgreSQL's `postgres`."""

    server_user = "postgres"
    pid_file = "data/postmaster.pid"
    server_names = ("postgres", "postmaster")
    stop_signal = signal.SIGINT  # "fast" shutdown: clean, without waiting for clients

    @property
    def socket_path(self) -> str:
        return f"{self.run_dir_for_clients()}/.s.PGSQL.{self.pg_port}"

    @property
    def pg_port(self) -> int:
        """PostgreSQL's port also names its Unix socket, so the two go together."""
        return self.tcp_port or PG_SOCKET_PORT

    def _program(self, name: str) -> str:
        program = find_program(name)
        if program is None:
            raise EngineError(f"{name} not found: install postgresql (`make install` does)")
        return program

    def _server_argv(self, settings: EngineSettings) -> list[str]:
        d = self.engine_dir
        return [
            self._program("postgres"),
            "-D",
            f"{d}/data",
            "-c",
            f"listen_addresses={'127.0.0.1' if self.tcp_port else ''}",
            "-c",
            f"unix_socket_directories={d}/run",
            "-c",
            "unix_socket_permissions=0700",
            "-c",
            f"port={self.pg_port}",
            "-c",
            f"shared_buffers={max(settings.buffer_pool_bytes // 8192, 16)}",  # 8 kB pages
            "-c",
            f"max_connections={settings.max_connections}",
            "-c",
            f"external_pid_file={d}/run/postgres.pid",
            "-c",
            "logging_collector=off",
        ]

    async def _initialise(self, settings: EngineSettings, admin_secret: str) -> None:
        d = self.engine_dir
        spec = self.spec
        pwfile = self.host_dir / "tmp" / "pw"
        pwfile.write_text(spec.master_password + "\n")
        uid, gid = self._owner()
        os.chown(pwfile, uid, gid)
        pwfile.chmod(0o600)
        try:
            await self._run(
                [
                    self._program("initdb"),
                    "-D",
                    f"{d}/data",
                    "-U",
                    spec.master_username,
                    f"--pwfile={d}/tmp/pw",
                    "--auth=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                ],
                "initdb",
            )
        finally:
            pwfile.unlink(missing_ok=True)
        await self.start(settings)
        try:
            await asyncio.to_thread(self._bootstrap, admin_secret)
        except EngineError:
            await self.kill()
            raise

    def _bootstrap(self, admin_secret: str) -> None:
        import psycopg
        from psycopg import sql

        spec = self.spec
        try:
            with psycopg.connect(
                host=self.run_dir_for_clients(),
                port=self.pg_port,
                user=spec.master_username,
                password=spec.master_password,
                dbname="postgres",
                autocommit=True,
            ) as conn:
                conn.execute(
                    sql.SQL("CREATE ROLE {} SUPERUSER LOGIN PASSWORD {}").format(
                        sql.Identifier(ADMIN_USER), sql.Literal(admin_secret)
                    )
                )
                if spec.database_name:
                    conn.execute(
                        sql.SQL("CREATE DATABASE {} OWNER {}").format(
                            sql.Identifier(spec.database_name),
                            sql.Identifier(spec.master_username),
                        )
                    )
        except psycopg.Error as e:
            raise EngineError(f"setting up the master user failed: {e}") from None

    async def _ready(self) -> bool:
        """postmaster.pid's last line says `ready` once connections are accepted."""
        try:
            lines = (self.host_dir / "data" / "postmaster.pid").read_text().splitlines()
        except OSError:
            return False
        # (after a crash the old file still says ready: it must be this postmaster's)
        mine = self.proc is not None and lines[:1] == [str(self.proc.pid)]
        return mine and len(lines) >= 8 and lines[7].strip() == "ready"

    def _admin_connect(self) -> Any:
        import psycopg

        try:
            return psycopg.connect(
                host=self.run_dir_for_clients(),
                port=self.pg_port,
                user=ADMIN_USER,
                password=self.admin_password,
                dbname="postgres",
                autocommit=True,
                connect_timeout=10,
            )
        except psycopg.OperationalError as e:
            raise EngineError(f"cannot reach the engine as {ADMIN_USER}: {e}") from None

    def _admin_run(self, conn: Any, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        cur = conn.execute(sql.encode(), params or None)
        return list(cur.fetchall()) if cur.description else []

    async def set_master_password(self, user: str, password: str) -> None:
        from psycopg import sql

        statement = sql.SQL("ALTER ROLE {} PASSWORD {}").format(
            sql.Identifier(user), sql.Literal(password)
        )
        await self.admin(statement.as_string(None))

    async def apply(self, settings: EngineSettings) -> None:
        """shared_buffers and max_connections only change at a restart (next resume);
        the planner's view of the cache follows the capacity at once."""
        await self.admin(f"ALTER SYSTEM SET effective_cache_size = '{settings.buffer_pool_bytes}B'")
        await self.admin("SELECT pg_reload_conf()")

    async def load(self) -> Load:
        cpu = await asyncio.to_thread(self.cpu_seconds)
        rows = await self.admin(
            "SELECT"
            " (SELECT count(*) FROM pg_stat_activity"
            "   WHERE backend_type = 'client backend' AND usename <> %s),"
            " (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
            "   AND usename <> %s AND state IN ('active', 'idle in transaction',"
            "   'idle in transaction (aborted)')),"
            " (SELECT coalesce(sum(xact_commit + xact_rollback), 0) FROM pg_stat_database),"
            " (SELECT coalesce(sum(sessions), 0) FROM pg_stat_database)",
            (ADMIN_USER, ADMIN_USER),
        )
        connections, busy, queries, total = rows[0]
        return Load(int(connections), int(queries), cpu, bool(busy), int(total))


def engine_for(spec: ClusterSpec, host_dir: Path) -> EngineServer:
    return MariaDB(host_dir, spec) if spec.engine is Engine.MYSQL else PostgreSQL(host_dir, spec)


def _child_setup(then: Callable[[], None]) -> None:
    """Between fork and exec: the CPUs faaslab started with (the control plane's own
    thread is pinned, see faaslab/placement.py), then the engine's own setup."""
    unpin_child()
    then()
