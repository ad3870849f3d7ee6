"""Render a custom credential type's injectors the way AWX does when it starts a job.

    python scripts/awx_inject.py CREDENTIAL_TYPE_YML INPUTS_JSON PRIVATE_DATA_DIR

Reads the credential type definition (extensions/awx/credential_type.yml of the installed
collection) and the credential's inputs (a JSON object), writes every `file` injector to a
private file under PRIVATE_DATA_DIR/env/, renders every `env` injector, and writes the result to
PRIVATE_DATA_DIR/env/envvars, where ansible-runner (AWX's engine) takes a job's environment
from. Prints the names of the variables it set.

What AWX does, and this follows (awx/main/models/credential: CredentialType.inject_credential):
inputs with an empty value are left out of the template namespace (so `is defined` and
`default` see them as missing); a file injector `template.NAME` is rendered into a fresh file
readable only by its owner and its path is `tower.filename.NAME`; every env injector is set,
rendered in Jinja's immutable sandbox.
"""

import json
import os
import stat
import sys
import tempfile

import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment


class _Namespace:
    """Attribute access for templates (`tower.filename.ca_cert`), as AWX's TowerNamespace."""


def _write_files(file_injectors, namespace, env_dir, sandbox, tower):
    for label, template in file_injectors.items():
        data = sandbox.from_string(template).render(**namespace)
        handle, path = tempfile.mkstemp(dir=env_dir)
        with os.fdopen(handle, "w") as stream:
            stream.write(data)
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
        if "." not in label:
            tower.filename = path
            continue
        if not isinstance(getattr(tower, "filename", None), _Namespace):
            tower.filename = _Namespace()
        setattr(tower.filename, label.split(".", 1)[1], path)


def inject(definition, inputs, private_data_dir):
    """The environment AWX would give a job for a credential with these inputs."""
    sandbox = ImmutableSandboxedEnvironment()
    tower = _Namespace()
    namespace = {"tower": tower}
    for name, value in inputs.items():
        if isinstance(value, bool) or len(value):
            namespace[name] = value
    for field in definition["inputs"].get("fields", []):
        if field.get("type") == "boolean" and field["id"] not in inputs:
            namespace[field["id"]] = False
    missing = [name for name in definition["inputs"].get("required", []) if name not in namespace]
    if missing:
        raise SystemExit("awx_inject: required input(s) missing: %s" % ", ".join(missing))

    env_dir = os.path.join(private_data_dir, "env")
    os.makedirs(env_dir, exist_ok=True)
    injectors = definition.get("injectors", {})
    _write_files(injectors.get("file", {}), namespace, env_dir, sandbox, tower)
    return {
        name: sandbox.from_string(template).render(**namespace)
        for name, template in injectors.get("env", {}).items()
    }


def main(argv):
    if len(argv) != 4:
        raise SystemExit(__doc__)
    with open(argv[1]) as stream:
        definition = yaml.safe_load(stream)
    with open(argv[2]) as stream:
        inputs = json.load(stream)
    env = inject(definition, inputs, argv[3])
    with open(os.path.join(argv[3], "env", "envvars"), "w") as stream:
        json.dump(env, stream, indent=2, sort_keys=True)
    print(" ".join(sorted(env)))


if __name__ == "__main__":
    main(sys.argv)
