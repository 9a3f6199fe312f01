"""podbay provider gc: find and remove podbay-tagged resources that no workspace owns."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from podbay.core.provider import Leftover
from podbay.providers.aws import network
from podbay.providers.aws.errors import AwsError
from podbay.providers.aws.launch import TAG_HOME, TAG_WORKSPACE
from podbay.providers.aws.network import Call


async def leftovers(
    call: Call, install_id: str, known: set[str], any_home: bool = False
) -> list[Leftover]:
    """podbay-tagged instances, spot requests, security groups and volumes that no workspace
    owns, and the spot request behind each such instance (EC2 relaunches a persistent one).

    Only this podbay home's by default (another computer of yours has its own home).
    """
    filters = [{"Name": "tag:managed-by", "Values": ["podbay"]}]
    if not any_home:
        filters.append({"Name": f"tag:{TAG_HOME}", "Values": [install_id]})
    live = [{"Name": "state", "Values": ["open", "active", "disabled"]}]
    instances, requests, groups, volumes = await asyncio.gather(
        call("ec2", "describe_instances", Filters=filters),
        call("ec2", "describe_spot_instance_requests", Filters=filters + live),
        call("ec2", "describe_security_groups", Filters=filters),
        call("ec2", "describe_volumes", Filters=filters),
    )
    found: list[Leftover] = []

    def add(kind: str, ident: str, tags: list[dict[str, str]], state: str) -> None:
        tag = {t["Key"]: t["Value"] for t in tags}
        mine = tag.get(TAG_HOME) == install_id
        if mine and tag.get(TAG_WORKSPACE) in known:
            return
        home = "this" if mine else tag.get(TAG_HOME, "?")
        found.append(Leftover(kind, ident, tag.get(TAG_WORKSPACE, "?"), home, state))

    for request in requests.get("SpotInstanceRequests", []):
        add("spot-request", request["SpotInstanceRequestId"], request.get("Tags", []), "")
    listed = {item.id for item in found}
    for reservation in instances.get("Reservations", []):
        for i in reservation["Instances"]:
            if i["State"]["Name"] != "terminated":
                add("instance", i["InstanceId"], i.get("Tags", []), i["State"]["Name"])
                spot = i.get("SpotInstanceRequestId")
                if spot and found[-1].id == i["InstanceId"] and spot not in listed:
                    add("spot-request", spot, i.get("Tags", []), "")
                    listed.add(spot)
    for g in groups.get("SecurityGroups", []):
        add("security-group", g["GroupId"], g.get("Tags", []), "")
    for v in volumes.get("Volumes", []):
        add("volume", v["VolumeId"], v.get("Tags", []), v.get("State", ""))
    return found


async def remove(
    call: Call,
    items: list[Leftover],
    wait_terminated: Callable[[str], Awaitable[object]],
    pause: float,
) -> None:
    """Spot requests first (a persistent one would launch the instance again), then instances
    (and wait for `terminated`), then what they held.

    `pause` is the wait between retries of a security group the instance still holds."""
    requests = [i.id for i in items if i.kind == "spot-request"]
    if requests:
        await call("ec2", "cancel_spot_instance_requests", SpotInstanceRequestIds=requests)
    instances = [i.id for i in items if i.kind == "instance"]
    if instances:
        await call("ec2", "terminate_instances", InstanceIds=instances)
        for instance_id in instances:
            await wait_terminated(instance_id)
    for item in items:
        if item.kind == "security-group":
            await network.delete_group(call, item.id, pause)
        elif item.kind == "volume" and item.state == "available":
            try:
                await call("ec2", "delete_volume", VolumeId=item.id)
            except AwsError as exc:
                if exc.code != "InvalidVolume.NotFound":
                    raise


class AwsLeftovers:
    """The `leftovers` capability of an AWS provider (core.provider.Leftovers)."""

    def __init__(
        self,
        call: Call,
        wait_terminated: Callable[[str], Awaitable[object]],
        where: str,
        pause: Callable[[], float],
    ) -> None:
        self._call = call
        self._wait_terminated = wait_terminated
        self._pause = pause
        self.where = where

    async def find(self, install_id: str, known: set[str], any_home: bool) -> list[Leftover]:
        return await leftovers(self._call, install_id, known, any_home)

    async def remove(self, items: list[Leftover]) -> None:
        await remove(self._call, items, self._wait_terminated, self._pause())
