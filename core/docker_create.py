"""`docker create ARGS` as one Engine API request, for the arguments podbay itself writes.

Starting the docker CLI costs about 20 ms at every new container. The arguments of podbay's
plans are few and known (core/devcontainer/run_args.py): these are turned into the create
request the CLI would send. Anything else (a runArgs flag, a mount option, a port, GPUs) returns
None, and core.docker runs the CLI as before: what the CLI accepts stays its business.
"""

from __future__ import annotations

import csv
import json
import os
from typing import Any

# Flags taking a value, and where the value goes.
_VALUED = {"--name", "--label", "--mount", "-e", "--env", "-u", "--user", "--entrypoint"}
_VALUED |= {"--cap-add", "--security-opt", "--network", "--net"}
_SWITCHES = {"--init", "--privileged"}
_MOUNT_TYPES = {"bind", "volume", "tmpfs"}
# Go's strconv.ParseBool, which the CLI reads mount options with.
_TRUE, _FALSE = {"1", "t", "T", "TRUE", "true", "True"}, {"0", "f", "F", "FALSE", "false", "False"}
# --security-opt values the CLI passes on as they are (it reads a seccomp profile's file, and
# turns systempaths=unconfined into other settings).
_PASSED_OPTS = (
    "seccomp=unconfined",
    "seccomp=builtin",
    "apparmor=",
    "label=",
    "no-new-privileges=",
)


def create_request(args: list[str]) -> tuple[str, dict[str, Any]] | None:
    """(the container's name, the API's create body) for `docker create ARGS`, or None when an
    argument is one this does not know (or no --name is given: podbay always names them), or
    when the CLI would add something of its own (proxies from its config)."""
    if _cli_adds_proxies():
        return None
    name = ""
    config, host = _cli_defaults()
    env: dict[str, str] = {}
    i = 0
    while i < len(args):
        flag = args[i]
        if not flag.startswith("-"):
            break
        if flag in _SWITCHES:
            host["Init" if flag == "--init" else "Privileged"] = True
            i += 1
            continue
        if flag not in _VALUED or i + 1 >= len(args):
            return None
        value = args[i + 1]
        i += 2
        if flag == "--name":
            name = value
        elif flag == "--label":
            key, _, text = value.partition("=")
            config["Labels"][key] = text
        elif flag in ("-e", "--env"):
            key, sep, _ = value.partition("=")
            if not sep:
                return None  # `-e NAME` takes the value from the CLI's own environment
            env.pop(key, None)  # the last one counts, and goes last (as the CLI does)
            env[key] = value
        elif flag in ("-u", "--user"):
            config["User"] = value
        elif flag == "--entrypoint":
            config["Entrypoint"] = [value]  # [""]: none (the CLI sends the same)
        elif flag == "--cap-add":
            cap = value.upper()  # as the CLI writes it: CAP_ first, except for ALL
            cap = cap if cap == "ALL" or cap.startswith("CAP_") else f"CAP_{cap}"
            host["CapAdd"] = [*(host["CapAdd"] or []), cap]
        elif flag == "--security-opt":
            if not value.startswith(_PASSED_OPTS) and value != "no-new-privileges":
                return None
            host["SecurityOpt"] = [*(host["SecurityOpt"] or []), value]
        elif flag in ("--network", "--net"):
            if host["NetworkMode"] != "default":
                return None  # several networks: the CLI connects the others itself
            host["NetworkMode"] = value
        else:
            mount = _mount(value)
            if mount is None:
                return None
            host["Mounts"].append(mount)
    if i >= len(args) or not name:
        return None
    config["Env"] = list(env.values())
    config["Image"], config["Cmd"] = args[i], args[i + 1 :] or None
    config["HostConfig"] = host
    return name, config


def _cli_adds_proxies() -> bool:
    """Whether the docker CLI's config has `proxies`, which it adds to every container's Env."""
    folder = os.environ.get("DOCKER_CONFIG") or os.path.expanduser("~/.docker")
    try:
        with open(os.path.join(folder, "config.json"), encoding="utf-8") as file:
            return bool(json.load(file).get("proxies"))
    except FileNotFoundError:
        return False
    except (OSError, ValueError, AttributeError):
        return True  # unreadable: the CLI decides, and says what is wrong


def _cli_defaults() -> tuple[dict[str, Any], dict[str, Any]]:
    """(Config, HostConfig) as the docker CLI sends them for `docker create IMAGE` (read off
    its request, CLI 28): the same container, to the last empty list."""
    config: dict[str, Any] = {
        "Hostname": "", "Domainname": "", "User": "", "AttachStdin": False,
        "AttachStdout": True, "AttachStderr": True, "Tty": False, "OpenStdin": False,
        "StdinOnce": False, "Env": [], "Volumes": {}, "WorkingDir": "", "Entrypoint": None,
        "OnBuild": None, "Labels": {},
    }  # fmt: skip
    host: dict[str, Any] = {
        "Binds": None, "ContainerIDFile": "", "LogConfig": {"Type": "", "Config": {}},
        "NetworkMode": "default", "PortBindings": {},
        "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0}, "AutoRemove": False,
        "VolumeDriver": "", "VolumesFrom": None, "CapAdd": None, "CapDrop": None,
        "CgroupnsMode": "", "Dns": [], "DnsOptions": [], "DnsSearch": [], "ExtraHosts": None,
        "GroupAdd": None, "IpcMode": "", "Cgroup": "", "Links": None, "OomScoreAdj": 0,
        "PidMode": "", "Privileged": False, "PublishAllPorts": False, "ReadonlyRootfs": False,
        "SecurityOpt": None, "UTSMode": "", "UsernsMode": "", "ShmSize": 0, "Isolation": "",
        "CpuShares": 0, "Memory": 0, "NanoCpus": 0, "CgroupParent": "", "BlkioWeight": 0,
        "BlkioWeightDevice": [], "BlkioDeviceReadBps": [], "BlkioDeviceWriteBps": [],
        "BlkioDeviceReadIOps": [], "BlkioDeviceWriteIOps": [], "CpuPeriod": 0, "CpuQuota": 0,
        "CpuRealtimePeriod": 0, "CpuRealtimeRuntime": 0, "CpusetCpus": "", "CpusetMems": "",
        "Devices": [], "DeviceCgroupRules": None, "DeviceRequests": None,
        "MemoryReservation": 0, "MemorySwap": 0, "MemorySwappiness": -1,
        "OomKillDisable": False, "PidsLimit": 0, "Ulimits": [], "CpuCount": 0, "CpuPercent": 0,
        "IOMaximumIOps": 0, "IOMaximumBandwidth": 0, "Mounts": [], "MaskedPaths": None,
        "ReadonlyPaths": None,
    }  # fmt: skip
    return config, host


def _mount(spec: str) -> dict[str, Any] | None:
    """One --mount spec (CSV fields, as the CLI reads them) as the API's Mount, or None."""
    try:
        [fields] = list(csv.reader([spec]))
    except (ValueError, csv.Error):
        return None
    mount: dict[str, Any] = {}
    for field in fields:
        key, sep, value = field.partition("=")
        key = key.lower()
        flag = not sep or value in _TRUE  # a bare option is true
        if key == "type" and value in _MOUNT_TYPES:
            mount["Type"] = value
        elif key in ("source", "src") and sep:
            mount["Source"] = value
        elif key in ("target", "dst", "destination") and sep:
            mount["Target"] = value
        elif key in ("readonly", "ro") and (flag or value in _FALSE):
            if flag:
                mount["ReadOnly"] = True
        elif key == "volume-nocopy" and flag:
            mount["VolumeOptions"] = {"NoCopy": True, "DriverConfig": {}}  # as the CLI
        else:
            return None
    if "Type" not in mount or "Target" not in mount:
        return None
    return mount
