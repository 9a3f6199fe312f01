"""AWS EC2: one instance per workspace, secure by default, nothing left behind.

`up` finds or launches the workspace's instance (IMDSv2 required, encrypted gp3 root, podbay
tags on everything, a deterministic ClientToken), starts it when stopped, waits for SSH pinned
to the host key podbay generated and put in user-data, then hands the engine a host whose
Docker socket is forwarded over that SSH connection. Stop stops the instance (only its disk is
billed); delete terminates it, waits for `terminated`, then removes the security group and the
Route53 record podbay made. Status is one DescribeInstances per provider (region).

All boto3 calls run in threads through `_call`, which maps failures to one-line errors. The
parts that need no provider state are module functions beside this one, given `_call`:
launch.py (RunInstances input), ami.py, network.py, dns.py, gc.py; ready.py waits for SSH.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import os
import shlex
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from importlib import resources
from typing import Any, ClassVar, Literal

from podbay.core import paths, testseam
from podbay.core.devcontainer.values import printable
from podbay.core.errors import PodbayError, ProviderError
from podbay.core.host import HostSession
from podbay.core.model import (
    MachineInfo,
    MachineRecord,
    ProviderConfig,
    SshAddress,
    Status,
    Workspace,
)
from podbay.core.provider import MachineJob, MachineState, Provider
from podbay.core.ssh import machine as ssh_machine
from podbay.providers.aws import ami as amis
from podbay.providers.aws import dns, ecr, gc, network, pricing, ready, retry, userdata
from podbay.providers.aws import policy as iam
from podbay.providers.aws.deep_check import AwsDeepCheck
from podbay.providers.aws.errors import AwsError, check_region, client_config, explain
from podbay.providers.aws.launch import TAG_HOME, TAG_WORKSPACE, launch_params, workspace_tags
from podbay.providers.aws.options import SUGGESTED_TYPES, AwsOptions, zone_name


def _tag(instance: dict[str, Any], key: str) -> str:
    return next((t["Value"] for t in instance.get("Tags", []) if t["Key"] == key), "")


def _forget_zones(machine: dict[str, Any]) -> None:
    """After every zone refused: the next `up` starts over (no room passes), with a new token."""
    for key in ("zones_tried", "zones_offered", "launch"):
        machine.pop(key, None)
    machine["generation"] = machine.get("generation", 0) + 1


def _interrupted(instance: dict[str, Any]) -> bool:
    """Stopped by EC2 for a spot interruption (StateReason Server.SpotInstanceShutdown)."""
    code = str((instance.get("StateReason") or {}).get("Code", ""))
    return instance.get("InstanceLifecycle") == "spot" and code.startswith("Server.SpotInstance")


def _spot_zone(instance: dict[str, Any]) -> str | None:
    """The zone of a spot instance (its price is the zone's), None for on-demand."""
    if instance.get("InstanceLifecycle") != "spot":
        return None
    return str(instance.get("Placement", {}).get("AvailabilityZone") or "") or None


# RunInstances' words for "not in this zone": now, or never.
NO_ROOM = ("InsufficientInstanceCapacity", "Unsupported")

LIVE_STATES = ["pending", "running", "stopping", "stopped", "shutting-down"]
# Instance state -> the container-list word the engine's status mapping understands.
# EC2's instance states as podbay shows them (terminated ones are not polled).
STATUS = {
    "running": Status.RUNNING,
    "stopped": Status.STOPPED,
    "pending": Status.BUSY,
    "stopping": Status.BUSY,
    "shutting-down": Status.BUSY,
}


# How long a VM may take to read a workspace's secrets (python3's start, IMDS, AWS, retries).
READ_ON_VM_TIMEOUT = 60.0


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, ""))
    except ValueError:
        return default


class AwsProvider(Provider):
    type_name = "aws"
    description = "one EC2 VM per workspace in your AWS account, powered off when idle"
    Options = AwsOptions
    dedicated_machine: ClassVar[bool] = True
    secret_kinds: ClassVar[tuple[str, ...]] = ("ssm:", "secretsmanager:")
    room_parallel: ClassVar[int] = 25  # each member's VM boots on its own: all at once
    options: AwsOptions

    @classmethod
    def iam_policy(
        cls,
        options: Mapping[str, Any],
        references: Sequence[str] = (),
        machine: bool = False,
        prebuilds: bool = False,
    ) -> dict[str, Any] | None:
        try:
            zone = zone_name(options.get("route53_zone"))
        except ValueError as exc:
            raise ProviderError(f"option route53_zone: {exc}", "e.g. dev.example.com") from None
        # Every other option as a provider would take it (a type's policy needs no region).
        checked = cls.validate_options({"region": "us-east-1", **options}, cls.type_name)
        assert isinstance(checked, AwsOptions)
        region = options.get("region")
        region = region if isinstance(region, str) else None
        if machine:
            if not checked.secrets_on_vm:
                raise ProviderError(
                    "the VMs read no secrets while secrets_on_vm is off: their instance role "
                    "needs nothing from podbay",
                    "to read them there: podbay provider set NAME -o secrets_on_vm=true "
                    "-o instance_profile_arn=ARN",
                )
            if not references:
                raise ProviderError(
                    "no secret reference is read through this provider yet: the role's policy "
                    "would allow nothing",
                    "set one: podbay secret set NAME --ref ssm:/PATH --provider NAME",
                )
            return iam.instance_role_document(references, region)
        # (the references stay: a workspace elsewhere, on local Docker, reads them here)
        return iam.document(
            zone,
            references,
            region,
            instance_profile=checked.instance_profile_arn,
            prebuilds=prebuilds,
        )

    def __init__(self, config: ProviderConfig) -> None:
        super().__init__(config)
        self._session: Any = None
        self._prices: pricing.PriceBook | None = None
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._conns: dict[str, Any] = {}  # workspace -> SSH connection made by ensure_machine
        # How long a booting instance may take to answer SSH, and the state poll interval.
        self.ssh_timeout = _env_float("PODBAY_AWS_SSH_TIMEOUT", 600.0)
        self.poll_interval = _env_float("PODBAY_AWS_POLL_INTERVAL", 3.0)
        self.deep_check = AwsDeepCheck(self._call, self.options, self.name)
        self.leftovers = gc.AwsLeftovers(
            self._call, self._wait_terminated, self.options.region, lambda: self.poll_interval
        )

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
        """One client per service and process (adaptive retry shares its rate limit).
        "ec2-launch" is EC2 for RunInstances alone: AWS answers a zone without capacity with
        HTTP 500, which botocore retries as a passing fault; that client tries twice, and podbay
        moves to another zone instead of waiting out eight tries."""
        session = self.session()
        with self._lock:
            if service not in self._clients:
                name, region, config = service, None, client_config()
                if service == "pricing":  # answered in a few regions; a price may not wait
                    region = pricing.price_list_region(self.options.region)
                    config = client_config(2).merge(pricing.client_timeouts())
                elif service == "ec2-launch":
                    name, config = "ec2", client_config(2)
                self._clients[service] = session.client(name, region_name=region, config=config)
            return self._clients[service]

    async def _boto(self, service: str, work: Callable[[Any], Any], what: str = "") -> Any:
        """work(client) in a thread; botocore's failures become one-line errors."""

        def run() -> Any:
            from botocore import exceptions as bx
            from botocore.parsers import ResponseParserError

            try:
                return work(self.client(service))
            except (bx.BotoCoreError, bx.ClientError, ResponseParserError) as exc:
                raise explain(exc, profile=self.options.profile, what=what) from None

        return await asyncio.to_thread(run)

    async def _call(self, service: str, operation: str, **kwargs: Any) -> Any:
        return await self._boto(
            service, lambda client: getattr(client, operation)(**kwargs), operation
        )

    # secrets -------------------------------------------------------------------------------

    def reads_secrets_on(self, workspace: Workspace) -> bool:
        return self.options.secrets_on_vm and workspace.machine.ssh is not None

    async def read_secret(self, reference: str) -> str:
        """`ssm:/PATH` (Parameter Store, decrypted) or `secretsmanager:NAME`, with this
        provider's credentials in its region; a missing one is named with the region."""
        kind, _, name = reference.partition(":")

        def read(client: Any) -> str:
            from botocore import exceptions as bx

            try:
                if kind == "ssm":
                    answer = client.get_parameter(Name=name, WithDecryption=True)
                    return str(answer["Parameter"]["Value"])
                answer = client.get_secret_value(SecretId=name)
                return str(answer.get("SecretString") or "")
            except bx.ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code not in ("ParameterNotFound", "ResourceNotFoundException"):
                    raise
                raise self._not_found(reference) from None

        service = "ssm" if kind == "ssm" else "secretsmanager"
        return str(await self._boto(service, read, f"reading {reference}"))

    def _not_found(self, reference: str) -> ProviderError:
        """A reference AWS has no such parameter or secret for, read here or on the VM."""
        kind, _, name = reference.partition(":")
        where = "Parameter Store" if kind == "ssm" else "Secrets Manager"
        return ProviderError(
            f"secret reference {reference}: {where} has no {name} in region {self.options.region}",
            f"check the name, or the region of provider {self.name} "
            f"(podbay provider set {self.name} -o region=...)",
        )

    async def read_secrets_on(
        self, references: list[str], job: MachineJob
    ) -> dict[str, str | PodbayError]:
        """Read on the workspace's VM with its instance profile, all in one run of
        assets/aws/read_secrets.py over one SSH connection: the role's credentials never leave
        the VM, and the user's are not used. The values come back over that connection, to go
        where one read here goes."""
        workspace = job.workspace.name
        code = resources.files("podbay.assets").joinpath("aws/read_secrets.py").read_text()
        argv = ["python3", "-I", "-c", code, self.options.region, *testseam.machine_aws()]
        address = ssh_machine.MachineAddress.of(job.workspace.machine, job.keys.client_key)
        try:
            conn = await ssh_machine.connect(address)
        except ssh_machine.MachineUnreachable as exc:
            raise ProviderError(
                f"cannot reach workspace {workspace}'s machine to read its secrets there: "
                f"{exc.message}",
                f"start it: podbay up {workspace}",
            ) from None
        try:
            done = await asyncio.wait_for(
                conn.run(shlex.join([*argv, *references]), check=False), READ_ON_VM_TIMEOUT
            )
        except TimeoutError:
            raise ProviderError(
                f"workspace {workspace}'s machine did not read its secrets within "
                f"{READ_ON_VM_TIMEOUT:.0f} s",
                "is the machine overloaded, or AWS unreachable from it? try again",
            ) from None
        finally:
            conn.close()
        try:
            found = json.loads(str(done.stdout or ""))
            answers = {reference: found[reference] for reference in references}
        except (ValueError, KeyError, TypeError):
            if done.exit_status == 127:
                raise ProviderError(
                    f"workspace {workspace}'s machine has no python3 to read secrets with",
                    f"install it there, or read them here: podbay provider set {self.name} "
                    "-o secrets_on_vm=false",
                ) from None
            lines = str(done.stderr or "").strip().splitlines()
            said = printable(lines[-1]) if lines else "no answer"
            raise ProviderError(
                f"reading secrets on workspace {workspace}'s machine failed: {said}",
                f"or read them here: podbay provider set {self.name} -o secrets_on_vm=false",
            ) from None
        return {
            reference: str(answer["value"])
            if "value" in answer
            else self._machine_read_failed(reference, workspace, answer)
            for reference, answer in answers.items()
        }

    def _machine_read_failed(
        self, reference: str, workspace: str, found: dict[str, str]
    ) -> ProviderError:
        """The reader's error code as podbay's line and hint."""
        kind = reference.partition(":")[0]
        region = self.options.region
        code, said = str(found.get("error")), printable(str(found.get("message")))[:200]
        machine = f"workspace {workspace}'s machine"
        here = f"or read it here: podbay provider set {self.name} -o secrets_on_vm=false"
        if code in ("ParameterNotFound", "ResourceNotFoundException"):
            return self._not_found(reference)
        # (AWS's words after podbay's: a KMS key's own policy refuses in them, for one)
        known = {
            "AccessDenied": (
                f"the instance role of {machine} may not read {reference} in region {region} "
                f"(or there is no such {'parameter' if kind == 'ssm' else 'secret'}): {said}",
                f"give the role the policy of: podbay provider policy {self.name} --instance-role",
            ),
            "NoInstanceProfile": (
                f"{machine} has no instance profile to read {reference} with",
                "it was made before instance_profile_arn was set: attach the profile to the "
                f"instance (EC2: Modify IAM role), {here}",
            ),
            "RoleCredentials": (
                f"{machine} got no credentials for its instance role: {said}",
                "the role's trust policy must let ec2.amazonaws.com assume it",
            ),
            "NoMetadata": (
                f"{machine} cannot ask its instance metadata service: {said}",
                f"is the instance's metadata endpoint turned off? {here}",
            ),
            "Unreachable": (
                f"{machine} cannot reach AWS to read {reference}: {said}",
                "a subnet without a route to the internet needs VPC endpoints for ssm and "
                "secretsmanager",
            ),
            "DecryptionFailure": (
                f"{machine} may not decrypt {reference}: {said}",
                "the role needs kms:Decrypt on its key, and the key's policy must allow it",
            ),
        }
        if code in known:
            return ProviderError(*known[code])
        if "Signature" in code and "expired" in said.lower():
            return ProviderError(
                f"AWS refused {machine}'s request for {reference}: {said}",
                "the machine's clock is wrong; it syncs with the Amazon Time Sync Service",
            )
        return ProviderError(
            f"reading {reference} on {machine}: {code}: {said}",
            f"AWS's answer to the instance role of provider {self.name}'s VM; {here}",
        )

    async def registry_login(self, registry: str) -> tuple[str, str] | None:
        """An ECR registry of this account in any region: a token of ecr:GetAuthorizationToken
        (valid 12 hours, asked for each build, never kept). Only the account's own endpoint is
        answered, although the token may open other registries the principal can read."""
        if ecr.parse_registry(registry) is None:
            return None
        return await asyncio.to_thread(ecr.login, self.session(), registry, self.options.profile)

    async def ensure_repository(self, repository: str, create: bool) -> bool:
        if ecr.parse_registry(repository.partition("/")[0]) is None:
            return False
        return await asyncio.to_thread(
            ecr.ensure_repository, self.session(), repository, create, self.options.profile
        )

    # names, tags, tokens -------------------------------------------------------------------

    def _tags(self, job: MachineJob) -> list[dict[str, str]]:
        return workspace_tags(self.options.tags, job.workspace.name, job.install_id)

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
        machine = job.workspace.machine.extra
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
        )
        job.workspace.machine.ssh = SshAddress(
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
            elif exc.code in ("IncorrectInstanceState", "IncorrectSpotRequestState"):
                state = "stopping-or-gone"
            else:
                raise
        if state == "stopping-or-gone":
            found = await self._call("ec2", "describe_instances", InstanceIds=[instance_id])
            instance = found["Reservations"][0]["Instances"][0]
            state = instance["State"]["Name"]
            if state == "stopped" and _interrupted(instance):
                raise AwsError(
                    f"instance {instance_id} was stopped by AWS (spot interruption); EC2 starts "
                    "it again by itself when spot capacity returns",
                    f"wait and run podbay up {job.workspace.name} again; or, for a machine that "
                    f"need not wait: podbay provider set {self.name} spot=false, then delete "
                    "and up the workspace (a new machine)",
                    "IncorrectSpotRequestState",
                )
            if state in ("stopping", "stopped"):
                job.report.step(f"waiting for instance {instance_id} to stop before starting it")
                await self._wait(instance_id, "stopped")
                await self._call("ec2", "start_instances", InstanceIds=[instance_id])
                state = "pending"
        if state in ("terminated", "shutting-down"):
            job.report.warn(f"instance {instance_id} is gone (terminated); launching a new one")
            machine = job.workspace.machine.extra
            machine.pop("instance_id", None)
            machine["generation"] = machine.get("generation", 0) + 1
            job.save()
            return None
        if state != "running":
            job.report.step(f"starting instance {instance_id}")
        return await self._wait(instance_id, "running")

    async def _find(self, job: MachineJob) -> dict[str, Any] | None:
        """The workspace's live instance, if any. A brand-new workspace skips the lookup."""
        machine = job.workspace.machine.extra
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

    async def _launch(self, job: MachineJob, group: str | None = None) -> dict[str, Any]:
        """Launch the workspace's instance; `group`: the security group made for a try in
        another zone of this `up`."""
        ws, report, machine = job.workspace, job.report, job.workspace.machine.extra
        opts = self.options
        report.step(f"launching a {opts.instance_type} instance in {opts.region}")
        await asyncio.to_thread(job.keys.ensure)
        await asyncio.to_thread(job.keys.ensure_machine_key)
        image, where = await self._launch_inputs(machine)
        tags = self._tags(job)
        if opts.security_group_id:
            group, owned = opts.security_group_id, False
        elif group is not None:
            owned = True
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
        params = launch_params(
            opts,
            image,
            where,
            security_group_id=group,
            tags=tags,
            client_token=machine["client_token"],
            user_data=script,
        )
        # The group was made moments ago: EC2 may not know it yet (ClientToken makes the
        # retry safe).
        try:
            launched = await retry.until_visible(
                lambda: self._call("ec2-launch", "run_instances", **params),
                self.poll_interval,
                also=retry.PASSING,
            )
        except AwsError as exc:
            if exc.code not in NO_ROOM or opts.subnet_id or opts.availability_zone:
                raise
            return await self._next_zone(job, where.availability_zone, exc)
        machine.pop("zones_tried", None)
        machine.pop("zones_offered", None)
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

    async def _next_zone(self, job: MachineJob, zone: str, refused: AwsError) -> dict[str, Any]:
        """The zone cannot take the type, now (InsufficientInstanceCapacity) or at all
        (Unsupported): launch in the next zone of the region that offers it, with a token of
        its own (a token belongs to its parameters). Asked only then, so a launch that works
        first time costs no extra call."""
        machine, kind = job.workspace.machine.extra, self.options.instance_type
        tried = [*machine.get("zones_tried", []), zone]
        offered = machine.get("zones_offered")
        if offered is None:
            offered = machine["zones_offered"] = await network.offered_zones(self._call, kind)
        left = sorted(set(offered) - set(tried))
        if not left:
            _forget_zones(machine)  # the next `up` asks every zone again: "no room" passes
            job.save()
            if not offered:
                raise AwsError(
                    f"{kind} is not offered in {self.options.region}",
                    f"choose another instance type: podbay provider set {self.name} "
                    "instance_type=...",
                    refused.code,
                )
            raise AwsError(
                f"no zone can launch a {kind} now (tried {', '.join(tried)}): {refused.message}",
                f"try again later, or another instance type: podbay provider set {self.name} "
                "instance_type=...",
                refused.code,
            )
        job.report.warn(f"{zone} cannot launch a {kind} now ({refused.code}); trying {left[0]}")
        machine.update(zones_tried=tried, generation=machine.get("generation", 0) + 1)
        machine.pop("launch", None)
        job.save()
        return await self._launch(job, machine["security_group_id"])

    async def _launch_inputs(self, machine: dict[str, Any]) -> tuple[amis.Ami, network.Placement]:
        """The image and subnet of this launch: looked up once, then kept in the record, so a
        retry with the same ClientToken sends the same parameters. AWS refuses a token reused
        with others (IdempotentParameterMismatch), e.g. when Canonical publishes a newer image
        between two tries."""
        generation = machine.get("generation", 0)
        kept = machine.get("launch")
        if isinstance(kept, dict) and kept.get("generation") == generation:
            return amis.Ami(**kept["image"]), network.Placement(**kept["placement"])
        image = await self._image()
        o = self.options
        try:
            where = await network.placement(
                self._call,
                o.subnet_id,
                o.vpc_id,
                o.availability_zone,
                avoid=machine.get("zones_tried", []),
                only=machine.get("zones_offered"),
            )
        except network.NoZoneLeft as exc:
            _forget_zones(machine)
            raise AwsError(
                f"no subnet in a zone that can launch a {o.instance_type} now "
                f"(tried {', '.join(exc.tried)})",
                "add a subnet in another zone, try again later, or choose another instance_type",
            ) from None
        machine["launch"] = {
            "generation": generation,
            "image": dataclasses.asdict(image),
            "placement": dataclasses.asdict(where),
        }
        return image, where

    async def _image(self) -> amis.Ami:
        return await amis.for_launch(self._call, self.options)

    async def _wait(self, instance_id: str, wanted: str, timeout: float = 900.0) -> dict[str, Any]:
        """Poll DescribeInstances until the instance is in `wanted` state; returns it."""
        deadline = time.monotonic() + timeout
        while True:
            found = await retry.until_visible(  # a just-launched id may not be visible yet
                lambda: self._call("ec2", "describe_instances", InstanceIds=[instance_id]),
                self.poll_interval,
            )
            instance: dict[str, Any] = found["Reservations"][0]["Instances"][0]
            state = instance["State"]["Name"]
            if state == wanted:
                return instance
            why = (instance.get("StateReason") or {}).get("Message")
            because = f" ({why})" if why else ""
            if state == "terminated" and wanted != "terminated":
                raise ProviderError(
                    f"instance {instance_id} was terminated{because}",
                    "see why in the EC2 console; then: podbay up NAME",
                )
            if wanted == "running" and state == "stopped" and why:
                # It never ran: EC2 stops a launch that cannot read its disk (a KMS key).
                raise ProviderError(
                    f"instance {instance_id} stopped instead of running{because}",
                    "if the account encrypts EBS with its own KMS key, podbay needs "
                    "kms:CreateGrant, kms:Decrypt and kms:GenerateDataKeyWithoutPlaintext on it",
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
        machine = job.workspace.machine.extra
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
            self.poll_interval,
        )
        machine.update(ingress_cidr=cidr, ingress_rule_id=rule)
        job.save()

    async def _wait_for_ssh(self, job: MachineJob) -> None:
        self._conns[job.workspace.name] = await ready.wait_until_ready(
            job, self.ssh_timeout, self.options.ssh_ingress_cidr, lambda: self._reachable(job)
        )

    async def _reachable(self, job: MachineJob) -> None:
        """Asked when SSH stays silent: an instance with a public address in a subnet whose
        default route is no internet gateway can neither download Docker nor be reached,
        however long podbay waits. Other routes (a NAT, a transit or VPN gateway: reached over
        a VPN at its private address) and a refused question leave podbay waiting."""
        machine = job.workspace.machine.extra
        where = (machine.get("launch") or {}).get("placement") or {}
        if not machine.get("public_ip"):
            job.report.warn(
                "the instance has no public address: podbay reaches it at its private one, "
                "which works over a VPN only (subnet_id: a public subnet, if that is not meant)"
            )
            return
        if not where.get("subnet_id"):
            return
        try:
            routes = await network.default_routes(self._call, where["subnet_id"], where["vpc_id"])
        except AwsError:
            return
        if any(r.startswith("igw-") for r in routes) or any(
            not r.startswith("nat-") for r in routes
        ):
            return
        via = f" (only {', '.join(routes)}, outbound only)" if routes else ""
        raise ProviderError(
            f"subnet {where['subnet_id']} has no route to an internet gateway{via}: "
            "the VM cannot install Docker and SSH cannot reach it",
            f"use a public subnet: podbay provider set {self.name} subnet_id=SUBNET, then "
            f"podbay delete {job.workspace.name} and up again; or route 0.0.0.0/0 to an "
            "internet gateway",
        )

    async def open_host(self, job: MachineJob) -> HostSession:
        address = ssh_machine.MachineAddress.of(job.workspace.machine, job.keys.client_key)
        conn = self._conns.pop(job.workspace.name, None)
        if conn is None:
            conn = await ssh_machine.connect(address)
        return await ssh_machine.SshHost.open(conn, address=address)

    async def stop_machine(self, job: MachineJob) -> None:
        instance_id = job.workspace.machine.extra.get("instance_id")
        if not instance_id:
            return
        job.report.step(f"stopping instance {instance_id} (its disk is kept)")
        await self._call("ec2", "stop_instances", InstanceIds=[instance_id])
        await self._wait(instance_id, "stopped")
        if self.options.route53_zone and job.workspace.machine.extra.get("dns_name"):
            # A stopped instance lets its public address go, to someone else next: the name
            # must not follow it there. `start` writes it again with the new address.
            await self._dns(job, "DELETE", None)

    async def delete_machine(self, job: MachineJob) -> None:
        """Terminate, wait for `terminated`, then remove what podbay made for the workspace."""
        machine = job.workspace.machine.extra
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
            await network.delete_group(self._call, machine["security_group_id"], self.poll_interval)
        job.workspace.machine = MachineRecord()  # nothing of it is left: address included
        job.save()

    async def _dns(
        self, job: MachineJob, action: Literal["UPSERT", "DELETE"], address: str | None
    ) -> None:
        """An A record NAME.<zone> for the instance (UPSERT after start, DELETE on stop and
        delete)."""
        zone = str(self.options.route53_zone)
        if await dns.update(
            self._call, job.workspace.machine.extra, zone, job.workspace.name, action, address
        ):
            job.save()

    # status --------------------------------------------------------------------------------

    async def poll(self, install_id: str, workspaces: list[Workspace]) -> dict[str, MachineState]:
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

        found = await self._boto("ec2", every_page)
        mine = [
            i
            for i in sorted(found, key=lambda i: str(i["LaunchTime"]))
            if _tag(i, TAG_WORKSPACE) in names
        ]
        # Prices: from the cache on most days; AWS is asked for what is missing or stale.
        if mine:
            await self.prices.refresh(
                self._call,
                self.options.region,
                [i.get("InstanceType", "?") for i in mine],
                [(z, i.get("InstanceType", "?")) for i in mine if (z := _spot_zone(i))],
            )
        return {_tag(i, TAG_WORKSPACE): self._state(i) for i in mine}

    @property
    def prices(self) -> pricing.PriceBook:
        if self._prices is None:
            self._prices = pricing.PriceBook(paths.cache_dir(paths.home()) / "aws-prices.json")
        return self._prices

    def _state(self, instance: dict[str, Any]) -> MachineState:
        state = instance["State"]["Name"]
        kind = instance.get("InstanceType", "?")
        why = ", spot interruption: EC2 restarts it when capacity returns"
        return MachineState(
            status=STATUS.get(state, Status.STOPPED),
            state=state,
            detail=f"instance {instance['InstanceId']} {state} ({kind}"
            + (why if state == "stopped" and _interrupted(instance) else "")
            + ")",
            machine=self.machine_info(instance["InstanceId"], kind, state, _spot_zone(instance)),
        )

    def machine_info(
        self, instance_id: str, instance_type: str, state: str, spot_zone: str | None = None
    ) -> MachineInfo:
        """Type, state and the estimated cost: $/h while running, $/month all month (a spot
        instance at its zone's current spot price)."""
        region = self.options.region
        found = self.prices.estimate(instance_type, region, self.options.disk_gb, spot_zone)
        return MachineInfo(
            id=instance_id,
            type=instance_type,
            state=state,
            region=region,
            hourly=round(found.hourly, 4) if found else None,
            monthly=round(found.monthly, 2) if found else None,
            stopped_monthly=round(found.stopped_monthly, 2) if found else None,
            price_note=None if found else f"{instance_type} in {region} is not in the price table",
        )

    async def _wait_terminated(self, instance_id: str) -> None:
        await self._wait(instance_id, "terminated")

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

    async def choices(self, field: str) -> list[tuple[str, str]]:
        """Instance types with their price here, and this account's VPCs, subnets and zones
        in the region; [] while the account cannot be asked (no credentials yet)."""
        try:
            return await self._choices(field)
        except PodbayError:
            return []

    async def _choices(self, field: str) -> list[tuple[str, str]]:
        region = self.options.region
        if field == "instance_type":
            await self.prices.refresh(self._call, region, SUGGESTED_TYPES)
            found = []
            for kind in SUGGESTED_TYPES:
                cost = self.prices.estimate(kind, region, self.options.disk_gb)
                found.append((kind, f"{kind} ${cost.hourly:.3f}/h" if cost else kind))
            return found
        if field == "vpc_id":
            vpcs = (await self._call("ec2", "describe_vpcs"))["Vpcs"]
            return [
                (v["VpcId"], f"{v['VpcId']} {v.get('CidrBlock', '')}{_default_mark(v)}{_name(v)}")
                for v in vpcs
            ]
        if field == "subnet_id":
            where = (
                [{"Name": "vpc-id", "Values": [self.options.vpc_id]}] if self.options.vpc_id else []
            )
            subnets = (await self._call("ec2", "describe_subnets", Filters=where))["Subnets"]
            return [
                (
                    n["SubnetId"],
                    f"{n['SubnetId']} {n.get('AvailabilityZone', '')} {n.get('CidrBlock', '')}"
                    + (" public" if n.get("MapPublicIpOnLaunch") else "")
                    + _name(n),
                )
                for n in sorted(
                    subnets, key=lambda n: (n.get("AvailabilityZone", ""), n["SubnetId"])
                )
            ]
        if field == "availability_zone":
            zones = (await self._call("ec2", "describe_availability_zones"))["AvailabilityZones"]
            return [(z["ZoneName"], z["ZoneName"]) for z in zones if z.get("State") == "available"]
        return []

    @classmethod
    async def suggestions(cls, field: str) -> list[str]:
        if field == "region":
            import boto3

            return sorted(boto3.Session().get_available_regions("ec2"))
        if field == "profile":
            import boto3

            return sorted(boto3.Session().available_profiles)
        if field == "instance_type":
            return list(SUGGESTED_TYPES)
        return []


def _default_mark(vpc: dict[str, Any]) -> str:
    return " (default)" if vpc.get("IsDefault") else ""


def _name(resource: dict[str, Any]) -> str:
    """' name' from its Name tag, shown printable; '' without one."""
    name = next((t["Value"] for t in resource.get("Tags") or [] if t.get("Key") == "Name"), "")
    return f" {printable(name, 40)}" if name else ""
