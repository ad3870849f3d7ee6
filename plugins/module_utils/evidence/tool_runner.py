# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run ssh-keygen and openssl from a module: through ``AnsibleModule.run_command``, as
ansible-test requires of code that runs on a managed host, with the timeout run_command lacks.

``attestation.run_tool`` takes any runner; this is the modules' one. The offline script
(tools/verify_evidence_chain.py) brings its own on ``subprocess``, as it runs without Ansible.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading

from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.attestation import (
    TOOL_TIMEOUT,
)


def _killer(process, killed):
    def kill():
        killed.append(True)
        try:
            process.kill()
        except OSError:  # it ended meanwhile
            pass
    return kill


def module_runner(module, timeout=TOOL_TIMEOUT):
    """A ``runner(argv, data, env)`` for attestation.run_tool that runs ``argv`` with
    ``module.run_command`` (no shell, ``data`` bytes on stdin, ``env`` added to the
    environment) and kills it after ``timeout`` seconds (returncode None)."""

    def run(argv, data=None, env=None):
        killed, timers = [], []

        def arm(process):
            timer = threading.Timer(timeout, _killer(process, killed))
            timer.daemon = True
            timers.append(timer)
            timer.start()

        try:
            code, out, err = module.run_command(
                list(argv), data=data or None, binary_data=True, environ_update=env or None,
                encoding=None, expand_user_and_vars=False, before_communicate_callback=arm,
                handle_exceptions=False)
        finally:
            for timer in timers:
                timer.cancel()
        return (None if killed else code), out, err

    return run
