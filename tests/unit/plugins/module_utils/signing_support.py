# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real keys and a real time-stamping authority for the signing tests: SSH keys made by
ssh-keygen, an allowed signers file, and ``openssl ts -reply`` behind a loopback HTTP server
with a CA and a TSA certificate (extendedKeyUsage = critical,timeStamping) made here."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import tempfile
import threading

from http.server import BaseHTTPRequestHandler, HTTPServer

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence import chain
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.tool_runner import (
    module_runner,
)
from ansible_collections.nirvana_labs.audit.tests.unit.plugins.modules.module_harness import (
    module_args,
)

NAMESPACE = "nirvana-labs-audit-evidence@v1"

TSA_CONFIG = """
[ req ]
distinguished_name = dn
[ dn ]
[ ca_ext ]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ tsa_ext ]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature,nonRepudiation
extendedKeyUsage = critical,timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ tsa ]
default_tsa = tsa_config1
[ tsa_config1 ]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.crt
certs = $dir/ca.crt
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def tool_runner(timeout=None):
    """The runner the modules run ssh-keygen and openssl with: ``module_runner`` over a real
    AnsibleModule (run_command), so these tests drive the modules' process handling."""
    with module_args({}):
        module = AnsibleModule(argument_spec={})
    return module_runner(module) if timeout is None else module_runner(module, timeout)


def verify_chain(paths, **kwargs):
    """``chain.verify_chain`` with the modules' runner."""
    return chain.verify_chain(paths, runner=tool_runner(), **kwargs)


def run(*argv, **kwargs):
    return subprocess.run(list(argv), check=True, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, **kwargs)


def make_key(directory, name, passphrase=""):
    """An ed25519 key pair ``directory/name`` (+ ``.pub``); returns the private key's path."""
    path = os.path.join(str(directory), name)
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C", name, "-f", path)
    return path


def fingerprint(public_key):
    out = run("ssh-keygen", "-l", "-f", public_key).stdout.decode()
    return out.split()[1]


def allowed_signers(path, entries):
    """Write an allowed signers file: ``entries`` are ``(principal, public key path,
    options)``, options such as ``valid-before="20261101"``."""
    lines = []
    for principal, public_key, extra in entries:
        with open(public_key) as handle:
            key = " ".join(handle.read().split()[:2])
        opts = 'namespaces="%s"' % NAMESPACE + ("," + extra if extra else "")
        lines.append("%s %s %s\n" % (principal, opts, key))
    with open(str(path), "w") as handle:
        handle.write("".join(lines))
    return str(path)


class LocalTSA(object):
    """An RFC 3161 authority on 127.0.0.1: ``url``, ``ca_path``; ``stop()`` when done."""

    def __init__(self, directory):
        self.dir = directory = str(directory)
        config = os.path.join(directory, "tsa.cnf")
        with open(config, "w") as handle:
            handle.write(TSA_CONFIG.format(dir=directory))
        with open(os.path.join(directory, "serial"), "w") as handle:
            handle.write("01\n")
        self.ca_path = os.path.join(directory, "ca.crt")
        run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", os.path.join(directory, "ca.key"), "-out", self.ca_path,
            "-days", "3650", "-subj", "/CN=Test TSA CA", "-config", config,
            "-extensions", "ca_ext")
        run("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", os.path.join(directory, "tsa.key"),
            "-out", os.path.join(directory, "tsa.csr"), "-subj", "/CN=Test TSA",
            "-config", config)
        run("openssl", "x509", "-req", "-in", os.path.join(directory, "tsa.csr"),
            "-CA", self.ca_path, "-CAkey", os.path.join(directory, "ca.key"),
            "-CAcreateserial", "-days", "3650", "-out", os.path.join(directory, "tsa.crt"),
            "-extfile", config, "-extensions", "tsa_ext")
        self.requests = 0
        tsa = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                query = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                tsa.requests += 1
                with tempfile.NamedTemporaryFile(dir=directory, suffix=".tsq") as handle:
                    handle.write(query)
                    handle.flush()
                    done = subprocess.run(
                        ["openssl", "ts", "-reply", "-config", config, "-queryfile",
                         handle.name], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        check=False)
                self.send_response(200 if done.returncode == 0 else 500)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(done.stdout)))
                self.end_headers()
                self.wfile.write(done.stdout)

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/tsr" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
