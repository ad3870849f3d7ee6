# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A throwaway PostgreSQL server for tests (never a mock): initdb in a temp directory, a free
loopback port, password (SCRAM) authentication.

    with PgServer() as pg:
        pg.dsn()                 # the test role "audit" (owns database "audit"), with password
        pg.dsn(role="reader")    # a role that may log in but not create tables
        pg.restart(); pg.stop(); pg.start(); pg.kill()

initdb and pg_ctl refuse to run as root: as root they run as ``nobody`` (runuser), on a data
directory that user owns. ``find_bin`` looks in /usr/lib/postgresql/*/bin, then on PATH;
``PgUnavailable`` says what to install when neither has them.
"""

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

SUPER_PASSWORD = "pg-super-Secr3t"
PASSWORD = "audit-Pa55-w0rd"
READER_PASSWORD = "reader-Pa55-w0rd"


class PgUnavailable(RuntimeError):
    pass


def find_bin(name):
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/" + name),
                        key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if candidates:
        return candidates[-1]
    found = shutil.which(name)
    if found:
        return found
    raise PgUnavailable("no PostgreSQL server binaries (%s) in /usr/lib/postgresql/*/bin or on"
                        " PATH: install them (Debian: apt-get install -y postgresql)" % name)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PgServer(object):
    def __init__(self):
        self.initdb = find_bin("initdb")
        self.pg_ctl = find_bin("pg_ctl")
        self.root = tempfile.mkdtemp(prefix="audit-pg-")
        self.data = os.path.join(self.root, "data")
        self.log = os.path.join(self.root, "server.log")
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            import pwd
            nobody = pwd.getpwnam("nobody")
            os.chown(self.root, nobody.pw_uid, nobody.pw_gid)
        os.chmod(self.root, 0o755)

    def _run(self, *argv, **kwargs):
        prefix = ["runuser", "-u", "nobody", "--"] if self.as_root else []
        result = subprocess.run(prefix + list(argv), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, universal_newlines=True,
                                cwd=self.root, check=False, **kwargs)
        if result.returncode != 0:
            raise RuntimeError("%s failed: %s\n%s" % (argv[0], result.stdout, self.server_log()))
        return result.stdout

    def server_log(self):
        try:
            with open(self.log) as handle:
                return handle.read()[-3000:]
        except OSError:
            return ""

    def setup(self):
        pwfile = os.path.join(self.root, "pw")
        with open(pwfile, "w") as handle:
            handle.write(SUPER_PASSWORD + "\n")
        if self.as_root:
            shutil.chown(pwfile, "nobody")
        self._run(self.initdb, "-D", self.data, "-U", "postgres", "--pwfile", pwfile,
                  "--auth-host=scram-sha-256", "--auth-local=scram-sha-256", "-E", "UTF8",
                  "--no-sync")
        os.remove(pwfile)
        with open(os.path.join(self.data, "postgresql.conf"), "a") as handle:
            handle.write("\nlisten_addresses = '127.0.0.1'\nport = %d\n"
                         "unix_socket_directories = '%s'\nfsync = off\n"
                         "max_connections = 50\n" % (self.port, self.root))
        self.start()
        import psycopg
        with psycopg.connect(self.dsn(role="postgres", database="postgres"),
                             autocommit=True) as conn:
            conn.execute("CREATE ROLE audit LOGIN PASSWORD '%s'" % PASSWORD)
            conn.execute("CREATE ROLE reader LOGIN PASSWORD '%s'" % READER_PASSWORD)
            conn.execute("CREATE DATABASE audit OWNER audit")
        return self

    def dsn(self, role="audit", database="audit", password=None):
        if password is None:
            password = {"audit": PASSWORD, "reader": READER_PASSWORD,
                        "postgres": SUPER_PASSWORD}[role]
        return "host=127.0.0.1 port=%d dbname=%s user=%s password=%s" % (
            self.port, database, role, password)

    def uri(self, role="audit", database="audit", password=None):
        if password is None:
            password = {"audit": PASSWORD, "reader": READER_PASSWORD}[role]
        return "postgresql://%s:%s@127.0.0.1:%d/%s" % (role, password, self.port, database)

    def superuser(self, database="audit"):
        import psycopg
        return psycopg.connect(self.dsn(role="postgres", database=database), autocommit=True)

    def start(self):
        self._run(self.pg_ctl, "-D", self.data, "-l", self.log, "-w", "-t", "60", "start")

    def stop(self):
        self._run(self.pg_ctl, "-D", self.data, "-m", "fast", "-w", "stop")

    def restart(self):
        self._run(self.pg_ctl, "-D", self.data, "-l", self.log, "-m", "fast", "-w", "-t", "60",
                  "restart")

    def running(self):
        return os.path.exists(os.path.join(self.data, "postmaster.pid"))

    def kill(self):
        """SIGKILL the postmaster (its children follow), then wait until the port is free."""
        with open(os.path.join(self.data, "postmaster.pid")) as handle:
            pid = int(handle.readline())
        os.kill(pid, signal.SIGKILL)
        for dummy in range(200):
            try:
                os.kill(pid, 0)
            except OSError:
                break
            time.sleep(0.05)
        time.sleep(0.5)

    def terminate_sessions(self, application_name="nirvana_labs.audit.audit_log"):
        """pg_terminate_backend of every session of the source; returns how many."""
        with self.superuser() as conn:
            return conn.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                                " WHERE application_name = %s", (application_name,)).fetchone()[0]

    def close(self):
        if self.running():
            try:
                self.stop()
            except RuntimeError:
                pass
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        try:
            return self.setup()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc):
        self.close()
