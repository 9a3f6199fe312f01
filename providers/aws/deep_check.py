"""`podbay provider check aws --deep`: will `up` work on this account? Asked without creating
anything billable: who you are, what podbay's policy lets you do, RunInstances with DryRun and
the exact parameters `up` sends, the subnet's zone offering the type, the image, the default EBS
key, a route to the internet, and the address the SSH rule would let in."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from podbay.core.errors import PodbayError
from podbay.core.provider import CheckResult
from podbay.providers.aws import ami as amis
from podbay.providers.aws import network, userdata
from podbay.providers.aws import policy as iam
from podbay.providers.aws.errors import AwsError
from podbay.providers.aws.launch import launch_params, workspace_tags
from podbay.providers.aws.network import Call, Placement
from podbay.providers.aws.options import AwsOptions

Step = Callable[[], Awaitable[CheckResult]]


class AwsDeepCheck:
    """The `deep_check` capability of an AWS provider (core.provider.DeepCheck)."""

    def __init__(self, call: Call, options: AwsOptions, name: str = "aws") -> None:
        self.call = call
        self.name = name  # the provider's, for the hint that prints its policy
        self.options = options
        # What the first rows found, for the rows after them (None: that row failed).
        self._arn = ""
        self._place: Placement | None = None
        self._ami: amis.Ami | None = None

    async def run(self) -> list[CheckResult]:
        identity = await _named("credentials", self._identity)
        results = [identity]
        if identity.ok is False:
            return results  # nothing else can be asked
        place = await _named("network", self._network)
        results.append(place)
        image = await _named("image", self._image)
        results.append(image)
        results += await asyncio.gather(
            _named("policy", self._policy),
            _named("instance type in the zone", self._offering),
            _named("default EBS key", self._ebs_key),
            _named("route to the internet", self._internet),
            _named("your address for SSH", self._address),
        )
        if place.ok and image.ok:
            results.append(await _named("launch (DryRun)", lambda: self._dry_run(spot=False)))
            if self.options.spot:
                results.append(await _named("spot launch (DryRun)", lambda: self._dry_run(True)))
        return results

    async def _identity(self) -> CheckResult:
        who = await self.call("sts", "get_caller_identity")
        self._arn = str(who["Arn"])
        return CheckResult("credentials", True, f"account {who['Account']} as {who['Arn']}")

    async def _network(self) -> CheckResult:
        o = self.options
        p = self._place = await network.placement(
            self.call, o.subnet_id, o.vpc_id, o.availability_zone
        )
        return CheckResult("network", True, f"{p.vpc_id}/{p.subnet_id} in {p.availability_zone}")

    async def _image(self) -> CheckResult:
        image = self._ami = await amis.for_launch(self.call, self.options)
        return CheckResult("image", True, f"{image.image_id} ({image.name})")

    async def _policy(self) -> CheckResult:
        arn = _principal(self._arn)
        # (the ECR statements are for private images only; not asked of everyone)
        actions = sorted(iam.actions(iam.document(self.options.route53_zone, ecr=False)))
        try:
            found = await self.call(
                "iam", "simulate_principal_policy", PolicySourceArn=arn, ActionNames=actions
            )
        except AwsError as exc:
            return CheckResult(
                "policy", None, f"not checked: cannot simulate policies here ({exc.code})"
            )
        denied = sorted(
            str(r["EvalActionName"])
            for r in found.get("EvaluationResults", [])
            if r.get("EvalDecision") != "allowed"
        )
        if denied:
            return CheckResult(
                "policy",
                False,
                f"not allowed: {', '.join(denied)}",
                f"attach podbay's policy: podbay provider policy {self.name}",
            )
        return CheckResult("policy", True, f"all {len(actions)} actions of podbay's policy")

    async def _offering(self) -> CheckResult:
        kind = self.options.instance_type
        zone = self._place.availability_zone if self._place else None
        zones = await network.offered_zones(self.call, kind)
        if zone is not None and zone not in zones:
            offered = ", ".join(zones) or "no zone of this region"
            return CheckResult(
                "instance type in the zone",
                False,
                f"{kind} is not offered in {zone} (offered in: {offered})",
                "set availability_zone (or subnet_id) to one of those, or another instance_type",
            )
        return CheckResult("instance type in the zone", True, f"{kind} in {zone or zones}")

    async def _ebs_key(self) -> CheckResult:
        found = await self.call("ec2", "get_ebs_default_kms_key_id")
        key = str(found.get("KmsKeyId") or "alias/aws/ebs")
        if key.endswith("alias/aws/ebs"):
            return CheckResult("default EBS key", True, "AWS's own key (aws/ebs)")
        return CheckResult(
            "default EBS key",
            None,
            f"the account's own key {key}: podbay's user needs grants on it",
            "allow kms:CreateGrant, kms:Decrypt, kms:GenerateDataKeyWithoutPlaintext on that key",
        )

    async def _internet(self) -> CheckResult:
        p = self._place
        if p is None:
            return CheckResult("route to the internet", None, "not checked: no subnet")
        routes = await network.default_routes(self.call, p.subnet_id, p.vpc_id)
        gateways = [g for g in routes if g.startswith(("igw-", "nat-"))]
        if not gateways:
            return CheckResult(
                "route to the internet",
                False,
                f"{p.subnet_id} has no route to an internet or NAT gateway: the VM could not "
                "install Docker, nor you reach it",
                "choose a public subnet (subnet_id), or add a route 0.0.0.0/0 to a gateway",
            )
        return CheckResult("route to the internet", True, f"0.0.0.0/0 via {gateways[0]}")

    async def _address(self) -> CheckResult:
        cidr = await asyncio.to_thread(network.ingress_cidr, self.options.ssh_ingress_cidr)
        return CheckResult("your address for SSH", True, f"the SSH rule would let in {cidr}")

    async def _dry_run(self, spot: bool) -> CheckResult:
        name = "spot launch (DryRun)" if spot else "launch (DryRun)"
        assert self._ami is not None and self._place is not None  # run() asks only then
        options = self.options.model_copy(update={"spot": spot})
        params = launch_params(
            options,
            self._ami,
            self._place,
            security_group_id=self.options.security_group_id or "sg-00000000000000000",
            tags=workspace_tags(self.options.tags, "check", "check"),
            client_token="podbay-check",
            user_data=userdata.render(
                client_public_key="ssh-ed25519 AAAA podbay-check",
                host_private_key="check",
                idle_minutes=self.options.inactivity_minutes,
            ),
        )
        params.pop("ClientToken")
        params.pop("SecurityGroupIds")  # podbay makes the group at `up`; none exists yet
        try:
            await self.call("ec2", "run_instances", DryRun=True, **params)
        except AwsError as exc:
            if exc.code == "DryRunOperation":
                return CheckResult(name, True, "EC2 would accept the launch `up` sends")
            return CheckResult(name, False, exc.message, exc.hint)
        return CheckResult(name, True, "EC2 would accept the launch `up` sends")


async def _named(name: str, step: Step) -> CheckResult:
    """A step's result; its failure is a failed row, never the end of the check."""
    try:
        return await step()
    except PodbayError as exc:
        return CheckResult(name, False, exc.message, exc.hint)


def _principal(arn: str) -> str:
    """An assumed role's session ARN as the role's ARN (what IAM simulates)."""
    if ":assumed-role/" in arn:
        account = arn.split(":")[4]
        role = arn.split(":assumed-role/")[1].split("/")[0]
        return f"arn:aws:iam::{account}:role/{role}"
    return arn
