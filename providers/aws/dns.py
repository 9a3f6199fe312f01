"""Route53: an A record NAME.<zone> per workspace, set after start and removed on delete."""

from __future__ import annotations

from typing import Any, Literal

from podbay.core.errors import ProviderError
from podbay.providers.aws.network import Call


async def zone_id(call: Call, zone: str) -> str:
    """The id of the hosted zone named `zone` (with its trailing dot); of a public and a private
    zone of one name, the public one (the address podbay writes is a public one)."""
    zones = await call("route53", "list_hosted_zones_by_name", DNSName=zone)
    match = [z for z in zones.get("HostedZones", []) if z["Name"] == zone]
    match.sort(key=lambda z: bool(z.get("Config", {}).get("PrivateZone")))
    if not match:
        raise ProviderError(f"Route53 zone {zone} not found", "check route53_zone")
    return str(match[0]["Id"])


async def current_a_record(call: Call, zone: str, name: str) -> dict[str, Any] | None:
    """The A record `name` exactly as it is now (Route53 deletes only an exact match)."""
    current = await call(
        "route53",
        "list_resource_record_sets",
        HostedZoneId=zone,
        StartRecordName=name,
        StartRecordType="A",
        MaxItems="1",
    )
    records = [
        r for r in current.get("ResourceRecordSets", []) if r["Name"] == name and r["Type"] == "A"
    ]
    return records[0] if records else None


async def update(
    call: Call,
    machine: dict[str, Any],
    zone_option: str,
    workspace: str,
    action: Literal["UPSERT", "DELETE"],
    address: str | None,
) -> bool:
    """UPSERT or DELETE the workspace's record; notes zone_id and dns_name in `machine`.

    False when there was nothing to change (no address, or no record to delete)."""
    zone = zone_option.rstrip(".") + "."
    if not machine.get("zone_id"):
        machine["zone_id"] = await zone_id(call, zone)
    name = f"{workspace}.{zone}"
    record: dict[str, Any] | None
    if action == "DELETE":
        record = await current_a_record(call, machine["zone_id"], name)
    elif address:
        record = {"Name": name, "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": address}]}
    else:
        record = None
    if record is None:
        return False
    await call(
        "route53",
        "change_resource_record_sets",
        HostedZoneId=machine["zone_id"],
        ChangeBatch={"Changes": [{"Action": action, "ResourceRecordSet": record}]},
    )
    machine["dns_name"] = name.rstrip(".") if action == "UPSERT" else None
    return True
