"""AWS EC2: one instance per workspace, secure by default, nothing left behind.

`up` finds or launches the workspace's instance (IMDSv2 required, encrypted gp3 root, podbay
tags on everything, a deterministic ClientToken), starts it when stopped, waits for SSH pinned
to the host key podbay generated and put in user-data, then hands the engine a host whose
Docker socket is forwarded over that SSH connection. Stop stops the instance (only its disk is
billed); delete terminates it, waits for `terminated`, then removes the security group and the
Route53 record podbay made. Status is one DescribeInstances per provider (region).

All boto3 calls run in threads through `_call`, which maps failures to one-line errors.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar

from core import testseam
from core.errors import ProviderError
from core.host import HostSession, MachineJob
from core.model import ProviderConfig, Workspace
from core.ssh import machine as ssh_machine
from providers.aws import ami as amis
from providers.aws import network, pricing, userdata
from providers.aws.errors import AwsError, check_region, client_config, explain
from providers.aws.options import AwsOptions
from providers.base import Provider

TAG_MANAGED = "managed-by"
TAG_WORKSPACE = "podbay:workspace"
TAG_HOME = "podbay:home"
LIVE_STATES = ["pending", "running", "stopping", "stopped", "shutting-down"]
# Instance state -> the container-list word the engine's status mapping understands.
STATE_WORD = {
    "running": "running",
    "stopped": "exited",
    "pending": "restarting",
    "stopping": "restarting",
    "shutting-down": "removing",
}


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, ""))
    except ValueError:
        return default


class AwsProvider(Provider):
    type_name = "aws"
    Options = AwsOptions
    dedicated_machine: ClassVar[bool] = True
    options: AwsOptions

    def __init__(self, config: ProviderConfig) -> None:
        super().__init__(config)
        self._session: Any = None
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._conns: dict[str, Any] = {}  # workspace -> SSH connection made by ensure_machine
        # How long a booting instance may take to answer SSH, and the state poll interval.
        self.ssh_timeout = _env_float("PODBAY_AWS_SSH_TIMEOUT", 600.0)
        self.poll_interval = _env_float("PODBAY_AWS_POLL_INTERVAL", 3.0)

    # boto3 ---------------------------------------------------------------------------------

    def session(self) -> Any:
        with self._lock:
            if self._session is None:
                import boto3
                from botocore import exceptions as bx

                try:
                    session = boto3.Session(
                        profile_name=self.options.profile, region_name=self.options.region
                    )
                except bx.BotoCoreError as exc:
                    raise explain(exc, profile=self.options.profile) from None
                check_region(self.options.region, session.get_available_regions("ec2"))
                self._session = session
            return self._session

    def client(self, service: str) -> Any:
        session = self.session()
        with self._lock:
            if service not in self._clients:
                # One client per service and process: adaptive retry shares its rate limit.
                self._clients[service] = session.client(service, config=client_config())
            return self._clients[service]

    async def _boto(self, service: str, work: Callable[[Any], Any], what: str = "") -> Any:
        """work(client) in a thread; botocore's failures become one-line errors."""

        def run() -> Any:
            from botocore import exceptions as bx

            try:
                return work(self.client(service))
            except (bx.BotoCoreError, bx.ClientError) as exc:
                raise explain(exc, profile=self.options.profile, what=what) from None

        return await asyncio.to_thread(run)

    async def _call(self, service: str, operation: str, **kwargs: Any) -> Any:
        return await self._boto(
            service, lambda client: getattr(client, operation)(**kwargs), operation
        )

    # names, tags, tokens -------------------------------------------------------------------

    def _tags(self, job: MachineJob) -> list[dict[str, str]]:
        name = job.workspace.name
        tags = {
            **self.options.tags,
            TAG_MANAGED: "podbay",
            TAG_WORKSPACE: name,
            TAG_HOME: job.install_id,
            "Name": f"podbay-{name}",
        }
        return [{"Key": k, "Value": v} for k, v in tags.items()]

    @staticmethod
    def client_token(job: MachineJob, generation: int) -> str:
        """The same for every retry of one workspace's create (a crash never launches twice);
        a new workspace of the same name, or a new generation, gets another."""
        ws = job.workspace
        seed = f"{job.install_id}:{ws.name}:{ws.created_at!r}:{generation}"
        return "podbay-" + hashlib.sha256(seed.encode()).hexdigest()[:40]

    def folder_for(self, workspace: str) -> str | None:
        return f"{userdata.workspaces_root()}/{workspace}"

    # the machine ---------------------------------------------------------------------------

    async def ensure_machine(self, job: MachineJob) -> None:
        machine = job.workspace.machine
        machine.setdefault("region", self.options.region)
        instance = None
        if machine.get("instance_id"):
            instance = await self._start(job, machine["instance_id"])
        else:
            found = await self._find(job)  # a launch whose answer was lost, after a crash
            if found is not None:
                instance = await self._start(job, found["InstanceId"])
        if instance is None:
            instance = await self._launch(job)
            if instance["State"]["Name"] != "running":
                job.report.step(f"waiting for instance {instance['InstanceId']} to run")
                instance = await self._wait(instance["InstanceId"], "running")
        await self._update_ingress(job)
        host, port = self._resolve(instance)
        machine.update(
            instance_id=instance["InstanceId"],
            instance_type=instance.get("InstanceType", self.options.instance_type),
            public_ip=instance.get("PublicIpAddress"),
            host=host,
            port=port,
            user=userdata.LOGIN_USER,
            host_public_key=job.keys.machine_host_public(),
        )
        job.save()
        if self.options.route53_zone:
            await self._dns(job, "UPSERT", instance.get("PublicIpAddress"))
        await self._wait_for_ssh(job)

    async def _start(self, job: MachineJob, instance_id: str) -> dict[str, Any] | None:
        """Start the instance (a no-op when it runs) and wait until it runs: two calls.
        None when it is gone (terminated outside podbay): the caller launches a new one."""
        try:
            started = await self._call("ec2", "start_instances", InstanceIds=[instance_id])
            state = started["StartingInstances"][0]["CurrentState"]["Name"]
        except AwsError as exc:
            if exc.code == "InvalidInstanceID.NotFound":
                state = "terminated"
            elif exc.code == "IncorrectInstanceState":
                state = "stopping-or-gone"
            else:
                raise
        if state == "stopping-or-gone":
            found = await self._call("ec2", "describe_instances", InstanceIds=[instance_id])
            state = found["Reservations"][0]["Instances"][0]["State"]["Name"]
            if state in ("stopping", "stopped"):
                job.report.step(f"waiting for instance {instance_id} to stop before starting it")
                await self._wait(instance_id, "stopped")
                await self._call("ec2", "start_instances", InstanceIds=[instance_id])
                state = "pending"
        if state in ("terminated", "shutting-down"):
            job.report.warn(f"instance {instance_id} is gone (terminated); launching a new one")
            machine = job.workspace.machine
            machine.pop("instance_id", None)
            machine["generation"] = machine.get("generation", 0) + 1
            job.save()
            return None
        if state != "running":
            job.report.step(f"starting instance {instance_id}")
        return await self._wait(instance_id, "running")

    async def _find(self, job: MachineJob) -> dict[str, Any] | None:
        """The workspace's live instance, if any. A brand-new workspace skips the lookup."""
        machine = job.workspace.machine
        if not machine.get("client_token"):
            return None
        filters = [
            {"Name": f"tag:{TAG_WORKSPACE}", "Values": [job.workspace.name]},
            {"Name": f"tag:{TAG_HOME}", "Values": [job.install_id]},
            {"Name": "instance-state-name", "Values": LIVE_STATES},
        ]
        found = await self._call("ec2", "describe_instances", Filters=filters)
        instances = [i for r in found.get("Reservations", []) for i in r.get("Instances", [])]
        instances.sort(key=lambda i: str(i.get("LaunchTime", "")), reverse=True)
        return instances[0] if instances else None

    async def _launch(self, job: MachineJob) -> dict[str, Any]:
        ws, report, machine = job.workspace, job.report, job.workspace.machine
        opts = self.options
        report.step(f"launching a {opts.instance_type} instance in {opts.region}")
        await asyncio.to_thread(job.keys.ensure)
        await asyncio.to_thread(job.keys.ensure_machine_key)
        image = await self._image()
        where = await network.placement(
            self._call, opts.subnet_id, opts.vpc_id, opts.availability_zone
        )
        tags = self._tags(job)
        if opts.security_group_id:
            group, owned = opts.security_group_id, False
        else:
            group = await network.create_group(
                self._call, f"podbay-{ws.name}-{job.install_id[:8]}", where.vpc_id, tags
            )
            owned = True
        machine.update(security_group_id=group, security_group_owned=owned)
        machine.setdefault("generation", 0)
        machine["client_token"] = self.client_token(job, machine["generation"])
        job.save()  # from here on, a re-run looks for the instance before launching
        if owned:
            await self._update_ingress(job)
        script = userdata.render(
            client_public_key=job.keys.client_public(),
            host_private_key=job.keys.machine_host_key.read_text(),
            idle_minutes=opts.inactivity_minutes,
            workspaces=userdata.workspaces_root(),
        )
        params: dict[str, Any] = {
            "ImageId": image.image_id,
            "InstanceType": opts.instance_type,
            "MinCount": 1,
            "MaxCount": 1,
            "SubnetId": where.subnet_id,
            "SecurityGroupIds": [group],
            "UserData": script,
            "MetadataOptions": {
                "HttpTokens": "required",
                "HttpEndpoint": "enabled",
                "HttpPutResponseHopLimit": 1,
            },
            "BlockDeviceMappings": [
                {
                    "DeviceName": opts.root_device or image.root_device,
                    "Ebs": {
                        "VolumeSize": opts.disk_gb,
                        "VolumeType": "gp3",
                        "Encrypted": True,
                        "DeleteOnTermination": True,
                    },
                }
            ],
            "TagSpecifications": [
                {"ResourceType": kind, "Tags": tags}
                for kind in ("instance", "volume", "network-interface")
            ],
            "ClientToken": machine["client_token"],
            "InstanceInitiatedShutdownBehavior": "stop",
        }
        if opts.instance_profile_arn:
            params["IamInstanceProfile"] = {"Arn": opts.instance_profile_arn}
        if opts.spot:
            params["InstanceMarketOptions"] = {
                "MarketType": "spot",
                "SpotOptions": {
                    "SpotInstanceType": "persistent",
                    "InstanceInterruptionBehavior": "stop",
                },
            }
            params["TagSpecifications"].append(
                {"ResourceType": "spot-instances-request", "Tags": tags}
            )
        launched = await self._call("ec2", "run_instances", **params)
        instance: dict[str, Any] = launched["Instances"][0]
        if instance["State"]["Name"] in ("terminated", "shutting-down"):
            # AWS answered the token with an earlier launch that is gone: next generation.
            machine["generation"] += 1
            job.save()
            return await self._launch(job)
        machine.update(
            instance_id=instance["InstanceId"],
            image=image.image_id,
            spot_request_id=instance.get("SpotInstanceRequestId"),
        )
        job.save()
        return instance

    async def _image(self) -> amis.Ami:
        opts = self.options
        if opts.ami:
            found = await self._call("ec2", "describe_images", ImageIds=[opts.ami])
            images = found.get("Images") or []
            if not images:
                raise ProviderError(f"AMI {opts.ami} not found in {opts.region}", "")
            image = images[0]
            return amis.Ami(
                image["ImageId"],
                image.get("Name", ""),
                image.get("RootDeviceName") or "/dev/sda1",
                image.get("Architecture", "x86_64"),
            )
        types = await self._call(
            "ec2", "describe_instance_types", InstanceTypes=[opts.instance_type]
        )
        archs = (
            (types.get("InstanceTypes") or [{}])[0]
            .get("ProcessorInfo", {})
            .get("SupportedArchitectures", ["x86_64"])
        )
        arch = "arm64" if "arm64" in archs and "x86_64" not in archs else "x86_64"
        return await asyncio.to_thread(
            amis.newest_ubuntu, self.client("ec2"), opts.ubuntu_version, arch
        )

    async def _wait(self, instance_id: str, wanted: str, timeout: float = 900.0) -> dict[str, Any]:
        """Poll DescribeInstances until the instance is in `wanted` state; returns it."""
        deadline = time.monotonic() + timeout
        while True:
            found = await self._call("ec2", "describe_instances", InstanceIds=[instance_id])
            instance: dict[str, Any] = found["Reservations"][0]["Instances"][0]
            state = instance["State"]["Name"]
            if state == wanted:
                return instance
            if state == "terminated" and wanted != "terminated":
                raise ProviderError(
                    f"instance {instance_id} was terminated",
                    "see why in the EC2 console; then: podbay up NAME",
                )
            if time.monotonic() > deadline:
                raise ProviderError(
                    f"instance {instance_id} is still {state} after {int(timeout)} s",
                    "try again later; check it in the EC2 console",
                )
            await asyncio.sleep(self.poll_interval)

    def _resolve(self, instance: dict[str, Any]) -> tuple[str, int]:
        """Where SSH of a running instance answers: its public address, port 22.

        The tests replace this through core.testseam (their moto instance's address is a
        local container that ran the real user-data).
        """
        resolver = testseam.aws_resolver()
        if resolver is not None:
            host, port = resolver(instance, self)
            return str(host), int(port)
        address = instance.get("PublicIpAddress") or instance.get("PrivateIpAddress")
        if not address:
            raise ProviderError(
                f"instance {instance['InstanceId']} has no IP address",
                "use a subnet that assigns public addresses (subnet_id option)",
            )
        return str(address), 22

    async def _update_ingress(self, job: MachineJob) -> None:
        """Keep the SSH rule of podbay's own group on the caller's current address."""
        machine = job.workspace.machine
        if not machine.get("security_group_owned"):
            return
        cidr = await asyncio.to_thread(network.ingress_cidr, self.options.ssh_ingress_cidr)
        if machine.get("ingress_cidr") == cidr:
            return
        if cidr in ("0.0.0.0/0", "::/0"):
            job.report.warn(f"SSH of {job.workspace.name} is open to the whole internet ({cidr})")
        job.report.step(f"allowing SSH from {cidr}")
        rule = await network.allow_ssh(
            self._call,
            machine["security_group_id"],
            cidr,
            self._tags(job),
            machine.get("ingress_rule_id"),
        )
        machine.update(ingress_cidr=cidr, ingress_rule_id=rule)
        job.save()

    async def _wait_for_ssh(self, job: MachineJob) -> None:
        machine = job.workspace.machine
        address = ssh_machine.MachineAddress.from_record(machine, job.keys.client_key)
        job.report.step(f"waiting for SSH on {address.host}:{address.port}")
        deadline = time.monotonic() + self.ssh_timeout
        try:
            conn = await ssh_machine.connect(address, retry_until=deadline)
        except ssh_machine.MachineUnreachable as exc:
            cidr = machine.get("ingress_cidr") or self.options.ssh_ingress_cidr or "?"
            group = machine.get("security_group_id", "?")
            raise ProviderError(
                f"instance {machine.get('instance_id')} did not answer SSH within "
                f"{int(self.ssh_timeout)} s ({exc.message.removeprefix('cannot reach ')})",
                f"security group {group} lets in {cidr}; if your address changed, "
                f"run podbay up {job.workspace.name} again",
            ) from None
        # sshd answers before user-data has finished installing Docker: wait for its marker.
        script = (
            f"while [ ! -e {ssh_machine.READY_MARKER} ]; do "
            f"if [ -e {ssh_machine.FAILED_MARKER} ]; then cat {ssh_machine.FAILED_MARKER}; "
            "exit 1; fi; sleep 1; done"
        )
        job.report.step("waiting for the machine's setup (user-data) to finish")
        try:
            done = await asyncio.wait_for(
                conn.run(script, check=False), max(1.0, deadline - time.monotonic())
            )
        except TimeoutError:
            conn.close()
            raise ProviderError(
                "the machine's setup (user-data) did not finish in time",
                f"aws ec2 get-console-output --instance-id {machine.get('instance_id')}",
            ) from None
        if done.exit_status != 0:
            conn.close()
            raise ProviderError(
                f"the machine's setup failed: {str(done.stdout).strip()}",
                f"aws ec2 get-console-output --instance-id {machine.get('instance_id')}",
            )
        self._conns[job.workspace.name] = conn

    async def open_host(self, job: MachineJob) -> HostSession:
        conn = self._conns.pop(job.workspace.name, None)
        if conn is None:
            address = ssh_machine.MachineAddress.from_record(
                job.workspace.machine, job.keys.client_key
            )
            conn = await ssh_machine.connect(address)
        return await ssh_machine.SshHost.open(conn)

    async def stop_machine(self, job: MachineJob) -> None:
        instance_id = job.workspace.machine.get("instance_id")
        if not instance_id:
            return
        job.report.step(f"stopping instance {instance_id} (its disk is kept)")
        await self._call("ec2", "stop_instances", InstanceIds=[instance_id])
        await self._wait(instance_id, "stopped")

    async def delete_machine(self, job: MachineJob) -> None:
        """Terminate, wait for `terminated`, then remove what podbay made for the workspace."""
        machine = job.workspace.machine
        instance_id = machine.get("instance_id")
        spot = machine.get("spot_request_id")
        if not instance_id and machine.get("client_token"):
            found = await self._find(job)  # launched, but the answer was lost
            if found is not None:
                instance_id, spot = found["InstanceId"], found.get("SpotInstanceRequestId")
        if instance_id:
            if spot:
                # Before terminating: a persistent request would launch a replacement.
                job.report.step(f"cancelling spot request {spot}")
                await self._call(
                    "ec2", "cancel_spot_instance_requests", SpotInstanceRequestIds=[spot]
                )
            job.report.step(f"terminating instance {instance_id}")
            try:
                await self._call("ec2", "terminate_instances", InstanceIds=[instance_id])
                await self._wait(instance_id, "terminated")
            except AwsError as exc:
                if exc.code != "InvalidInstanceID.NotFound":
                    raise
        if self.options.route53_zone and machine.get("dns_name"):
            await self._dns(job, "DELETE", None)
        if machine.get("security_group_owned") and machine.get("security_group_id"):
            job.report.step(f"deleting security group {machine['security_group_id']}")
            await self._delete_group(machine["security_group_id"])
        machine.clear()
        job.save()

    async def _delete_group(self, group_id: str) -> None:
        # The instance's network interface lets go of the group a little after `terminated`.
        for attempt in range(10):
            try:
                await self._call("ec2", "delete_security_group", GroupId=group_id)
                return
            except AwsError as exc:
                if exc.code == "InvalidGroup.NotFound":
                    return
                if exc.code != "DependencyViolation" or attempt == 9:
                    raise
                await asyncio.sleep(self.poll_interval)

    async def _dns(self, job: MachineJob, action: str, address: str | None) -> None:
        """An A record NAME.<zone> for the instance (UPSERT after start, DELETE on delete)."""
        machine = job.workspace.machine
        zone = str(self.options.route53_zone).rstrip(".") + "."
        if not machine.get("zone_id"):
            zones = await self._call("route53", "list_hosted_zones_by_name", DNSName=zone)
            match = [z for z in zones.get("HostedZones", []) if z["Name"] == zone]
            if not match:
                raise ProviderError(f"Route53 zone {zone} not found", "check route53_zone")
            machine["zone_id"] = match[0]["Id"]
        name = f"{job.workspace.name}.{zone}"
        if action == "DELETE":
            current = await self._call(
                "route53",
                "list_resource_record_sets",
                HostedZoneId=machine["zone_id"],
                StartRecordName=name,
                StartRecordType="A",
                MaxItems="1",
            )
            records = [
                r
                for r in current.get("ResourceRecordSets", [])
                if r["Name"] == name and r["Type"] == "A"
            ]
            if not records:
                return
            record = records[0]  # the exact current value: Route53 deletes only that
        else:
            if not address:
                return
            record = {
                "Name": name,
                "Type": "A",
                "TTL": 60,
                "ResourceRecords": [{"Value": address}],
            }
        await self._call(
            "route53",
            "change_resource_record_sets",
            HostedZoneId=machine["zone_id"],
            ChangeBatch={"Changes": [{"Action": action, "ResourceRecordSet": record}]},
        )
        machine["dns_name"] = name.rstrip(".") if action == "UPSERT" else None
        job.save()

    # status --------------------------------------------------------------------------------

    async def poll(self, install_id: str, workspaces: list[Workspace]) -> dict[str, dict[str, Any]]:
        """One DescribeInstances (paginated) for every workspace of this provider."""
        names = {ws.name for ws in workspaces}
        if not names:
            return {}

        def every_page(client: Any) -> list[dict[str, Any]]:
            pages = client.get_paginator("describe_instances").paginate(
                Filters=[
                    {"Name": f"tag:{TAG_HOME}", "Values": [install_id]},
                    {"Name": "instance-state-name", "Values": LIVE_STATES},
                ]
            )
            return [i for page in pages for r in page["Reservations"] for i in r["Instances"]]

        result: dict[str, dict[str, Any]] = {}
        found = await self._boto("ec2", every_page)
        for instance in sorted(found, key=lambda i: str(i["LaunchTime"])):
            tags = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}
            name = tags.get(TAG_WORKSPACE, "")
            if name in names:
                result[name] = self._as_container(instance)
        return result

    def _as_container(self, instance: dict[str, Any]) -> dict[str, Any]:
        state = instance["State"]["Name"]
        kind = instance.get("InstanceType", "?")
        info = self.machine_info(kind, state)
        info["id"] = instance["InstanceId"]
        return {
            "State": STATE_WORD.get(state, state),
            "Status": f"instance {instance['InstanceId']} {state} ({kind})",
            "Machine": info,
        }

    def machine_info(self, instance_type: str, state: str) -> dict[str, Any]:
        """Type, state and the estimated cost: $/h while running, $/month all month."""
        region, disk = self.options.region, self.options.disk_gb
        info: dict[str, Any] = {"type": instance_type, "state": state, "region": region}
        estimate = pricing.estimate(instance_type, region, disk)
        if estimate is None:
            info["price_note"] = f"{instance_type} in {region} is not in the price table"
        else:
            info["hourly"], info["monthly"] = round(estimate[0], 4), round(estimate[1], 2)
        idle = pricing.stopped_per_month(region, disk)
        if idle is not None:
            info["stopped_monthly"] = round(idle, 2)
        return info

    # leftovers (podbay provider gc) ---------------------------------------------------------

    async def leftovers(
        self, install_id: str, known: set[str], any_home: bool = False
    ) -> list[dict[str, str]]:
        """podbay-tagged instances, security groups and volumes that no workspace owns.

        Only this podbay home's by default (another computer of yours has its own home).
        """
        filters = [{"Name": "tag:managed-by", "Values": ["podbay"]}]
        if not any_home:
            filters.append({"Name": f"tag:{TAG_HOME}", "Values": [install_id]})
        instances, groups, volumes = await asyncio.gather(
            self._call("ec2", "describe_instances", Filters=filters),
            self._call("ec2", "describe_security_groups", Filters=filters),
            self._call("ec2", "describe_volumes", Filters=filters),
        )
        found: list[dict[str, str]] = []

        def add(kind: str, ident: str, tags: list[dict[str, str]], state: str) -> None:
            tag = {t["Key"]: t["Value"] for t in tags}
            mine = tag.get(TAG_HOME) == install_id
            if mine and tag.get(TAG_WORKSPACE) in known:
                return
            found.append(
                {
                    "kind": kind,
                    "id": ident,
                    "workspace": tag.get(TAG_WORKSPACE, "?"),
                    "home": "this" if mine else tag.get(TAG_HOME, "?"),
                    "state": state,
                }
            )

        for reservation in instances.get("Reservations", []):
            for i in reservation["Instances"]:
                if i["State"]["Name"] != "terminated":
                    add("instance", i["InstanceId"], i.get("Tags", []), i["State"]["Name"])
        for g in groups.get("SecurityGroups", []):
            add("security-group", g["GroupId"], g.get("Tags", []), "")
        for v in volumes.get("Volumes", []):
            add("volume", v["VolumeId"], v.get("Tags", []), v.get("State", ""))
        return found

    async def remove_leftovers(self, items: list[dict[str, str]]) -> None:
        """Instances first (and wait for `terminated`), then what they held."""
        instances = [i["id"] for i in items if i["kind"] == "instance"]
        if instances:
            await self._call("ec2", "terminate_instances", InstanceIds=instances)
            for instance_id in instances:
                await self._wait(instance_id, "terminated")
        for item in items:
            if item["kind"] == "security-group":
                await self._delete_group(item["id"])
            elif item["kind"] == "volume" and item["state"] == "available":
                try:
                    await self._call("ec2", "delete_volume", VolumeId=item["id"])
                except AwsError as exc:
                    if exc.code != "InvalidVolume.NotFound":
                        raise

    # setup ---------------------------------------------------------------------------------

    async def check(self) -> str:
        """The connection test: who am I, and do the region, network and AMI exist."""
        who = await self._call("sts", "get_caller_identity")
        where = await network.placement(
            self._call, self.options.subnet_id, self.options.vpc_id, self.options.availability_zone
        )
        image = await self._image()
        return (
            f"AWS account {who['Account']} as {who['Arn']}: {self.options.region}, "
            f"{where.vpc_id}/{where.subnet_id}, {image.image_id} ({image.name})"
        )

    @classmethod
    async def suggestions(cls, field: str) -> list[str]:
        if field == "region":
            import boto3

            return sorted(boto3.Session().get_available_regions("ec2"))
        if field == "profile":
            import boto3

            return sorted(boto3.Session().available_profiles)
        if field == "instance_type":
            return sorted({t for prices in pricing.PRICES.values() for t in prices})
        return []
