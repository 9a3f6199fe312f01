"""AWS as strict as AWS: the documented request constraints of every call podbay makes, checked
before moto (which accepts almost anything) sees the request, and EC2's eventual consistency.

Installed for every AWS test (tests/aws/conftest.py), and in podbay subprocesses through
tests/aws/site/sitecustomize.py. A violation answers as AWS would: a ClientError with AWS's code.

Sources: the EC2 API reference (CreateSecurityGroup, AuthorizeSecurityGroupIngress, RunInstances,
TagSpecification, "Ensuring idempotency"), the EC2 user guide ("Tag restrictions", "User data
... limited to 16 KB"), the EC2 developer guide ("Eventual consistency") and the Route 53 API
reference (ChangeResourceRecordSets). Throttling: "Request throttling for the Amazon EC2 API"
(RequestLimitExceeded, HTTP 503), which botocore's retry modes retry with backoff.
"""

from __future__ import annotations

import ipaddress
import json
import random
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

# CreateSecurityGroup: "Constraints for EC2-VPC: a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*"
SG_TEXT = re.compile(r"[A-Za-z0-9 ._\-:/()#,@\[\]+=&;{}!$*]*")
USER_DATA_LIMIT = 16 * 1024  # raw, before base64
ROUTE53_ACTIONS = ("CREATE", "DELETE", "UPSERT")
# Share of requests throttled in every AWS test: each costs botocore's backoff and a slower
# client-side rate for a while (adaptive mode), so it stays small here.
THROTTLE_RATE = 0.01


class Violation(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _bad(message: str, code: str = "InvalidParameterValue") -> Violation:
    return Violation(code, message)


def _sg_text(value: Any, field: str) -> None:
    text = str(value)
    if not 0 < len(text) <= 255 or not SG_TEXT.fullmatch(text):
        raise _bad(
            f"Value ({text}) for parameter {field} is invalid. Valid characters: "
            "a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*"
        )


def _tags(params: dict[str, Any]) -> Iterator[dict[str, str]]:
    for spec in params.get("TagSpecifications") or []:
        yield from spec.get("Tags") or []
    yield from params.get("Tags") or []


def _check_tags(params: dict[str, Any]) -> None:
    for tag in _tags(params):
        key, value = str(tag.get("Key", "")), str(tag.get("Value", ""))
        if not 0 < len(key) <= 128:
            raise _bad(f"Tag key '{key}' must be 1 to 128 characters", "InvalidParameterValue")
        if len(value) > 256:
            raise _bad(f"Tag value for '{key}' exceeds 256 characters", "InvalidParameterValue")
        if key.lower().startswith("aws:"):
            raise _bad("Tag keys starting with 'aws:' are reserved for internal use")


def _check_token(params: dict[str, Any]) -> None:
    token = params.get("ClientToken")
    if token is not None and (len(token) > 64 or not str(token).isascii()):
        raise _bad("ClientToken must be at most 64 ASCII characters", "InvalidParameterValue")


def _check_ingress(params: dict[str, Any]) -> None:
    for permission in params.get("IpPermissions") or []:
        for item in permission.get("IpRanges") or []:
            try:
                ipaddress.IPv4Network(item["CidrIp"])
            except (ValueError, KeyError):
                raise _bad(f"CIDR block {item.get('CidrIp')} is malformed") from None
            if "Description" in item:
                _sg_text(item["Description"], "Description")
        for item in permission.get("Ipv6Ranges") or []:
            try:
                ipaddress.IPv6Network(item["CidrIpv6"])
            except (ValueError, KeyError):
                raise _bad(f"CIDR block {item.get('CidrIpv6')} is malformed") from None
            if "Description" in item:
                _sg_text(item["Description"], "Description")


def _check_user_data(params: dict[str, Any]) -> None:
    data = params.get("UserData")
    if data is None:
        return
    raw = data.encode() if isinstance(data, str) else bytes(data)
    if len(raw) > USER_DATA_LIMIT:
        raise _bad(f"User data is limited to 16384 bytes (got {len(raw)})")


def _check_route53(params: dict[str, Any]) -> None:
    changes = (params.get("ChangeBatch") or {}).get("Changes") or []
    if not changes:
        raise _bad("ChangeBatch must hold at least one change", "InvalidInput")
    for change in changes:
        record = change.get("ResourceRecordSet") or {}
        if change.get("Action") not in ROUTE53_ACTIONS or not record.get("Name"):
            raise _bad("each change needs an Action and a ResourceRecordSet Name", "InvalidInput")
        if "AliasTarget" not in record and (
            "TTL" not in record or not record.get("ResourceRecords")
        ):
            raise _bad("a non-alias record needs TTL and ResourceRecords", "InvalidInput")


PRICE_LIST_REGIONS = ("us-east-1", "eu-central-1", "ap-south-1")
FILTER_TYPES = ("TERM_MATCH", "EQUALS", "CONTAINS", "ANY_OF", "NONE_OF")
SPOT_PRODUCTS = (
    "Linux/UNIX",
    "Linux/UNIX (Amazon VPC)",
    "SUSE Linux",
    "SUSE Linux (Amazon VPC)",
    "Red Hat Enterprise Linux",
    "Red Hat Enterprise Linux (Amazon VPC)",
    "Windows",
    "Windows (Amazon VPC)",
)


def _check_get_products(params: dict[str, Any], region: str) -> None:
    # The Price List Query API has endpoints in three regions only (a client elsewhere fails
    # to connect; the "pricing" endpoint of another region does not exist).
    if region not in PRICE_LIST_REGIONS:
        raise _bad(f"the Price List API has no endpoint in {region}", "EndpointConnectionError")
    if not params.get("ServiceCode"):
        raise _bad("ServiceCode is required with Filters", "InvalidParameterException")
    if not 1 <= int(params.get("MaxResults", 100)) <= 100:
        raise _bad("MaxResults must be 1 to 100", "InvalidParameterException")
    for item in params.get("Filters") or []:
        if item.get("Type") not in FILTER_TYPES or not item.get("Field") or "Value" not in item:
            raise _bad(f"malformed filter {item}", "InvalidParameterException")


def _check_spot_history(params: dict[str, Any]) -> None:
    for product in params.get("ProductDescriptions") or []:
        if product not in SPOT_PRODUCTS:
            raise _bad(f"Invalid product description: {product}", "InvalidParameterValue")
    if not 0 <= int(params.get("MaxResults", 1000)) <= 1000:
        raise _bad("MaxResults must be 0 to 1000")


OFFERING_LOCATIONS = ("region", "availability-zone", "availability-zone-id", "outpost")
OFFERING_FILTERS = ("instance-type", "location")


def _check_offerings(params: dict[str, Any]) -> None:
    if params.get("LocationType", "region") not in OFFERING_LOCATIONS:
        raise _bad(f"Invalid LocationType: {params.get('LocationType')}")
    for item in params.get("Filters") or []:
        if item.get("Name") not in OFFERING_FILTERS:
            raise _bad(f"The filter '{item.get('Name')}' is invalid", "InvalidParameterValue")


def _check_lifecycle(params: dict[str, Any]) -> None:
    """ECR's lifecycle policy rules (moto stores any JSON): a tagged selection names its
    prefixes or patterns, an untagged or any one names none; a count of images has no unit, an
    age is in days; priorities are unique and a rule for any status comes last."""

    def refuse(why: str) -> Violation:
        return _bad(
            "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: "
            f"'Lifecycle policy validation failure: {why}'",
            "InvalidParameterException",
        )

    try:
        rules = json.loads(str(params.get("lifecyclePolicyText", "")))["rules"]
    except (ValueError, KeyError, TypeError):
        raise refuse("not a policy document") from None
    if not isinstance(rules, list) or not rules:
        raise refuse("rules must be a non-empty list")
    priorities = [rule.get("rulePriority") for rule in rules]
    if len(set(priorities)) != len(priorities) or not all(isinstance(p, int) for p in priorities):
        raise refuse("rulePriority must be unique integers")
    for rule in rules:
        selection = rule.get("selection") or {}
        status = selection.get("tagStatus")
        named = selection.get("tagPrefixList") or selection.get("tagPatternList")
        if status not in ("tagged", "untagged", "any"):
            raise refuse(f"tagStatus {status!r}")
        if (status == "tagged") != bool(named):
            raise refuse("tagPrefixList or tagPatternList go with tagStatus tagged, and only")
        kind = selection.get("countType")
        unit = selection.get("countUnit")
        if kind == "imageCountMoreThan" and unit is not None:
            raise refuse("countUnit does not go with imageCountMoreThan")
        if kind == "sinceImagePushed" and unit != "days":
            raise refuse("sinceImagePushed needs countUnit days")
        if kind not in ("imageCountMoreThan", "sinceImagePushed"):
            raise refuse(f"countType {kind!r}")
        if not isinstance(selection.get("countNumber"), int) or selection["countNumber"] < 1:
            raise refuse("countNumber must be a positive integer")
        if (rule.get("action") or {}).get("type") != "expire":
            raise refuse("action type must be expire")
        if status == "any" and rule["rulePriority"] != max(priorities):
            raise refuse("a rule with tagStatus any must have the highest rulePriority")


def check(operation: str, params: dict[str, Any], region: str = "us-east-1") -> None:
    """Raise Violation where AWS would refuse the request."""
    _check_tags(params)
    _check_token(params)
    if operation == "CreateSecurityGroup":
        name = str(params.get("GroupName", ""))
        _sg_text(name, "GroupName")
        if name.lower().startswith("sg-"):
            raise _bad("Group names may not be in the format sg-*")
        _sg_text(params.get("Description", ""), "GroupDescription")
    elif operation in ("AuthorizeSecurityGroupIngress", "RevokeSecurityGroupIngress"):
        _check_ingress(params)
    elif operation in ("RunInstances", "RequestSpotInstances"):
        _check_user_data(params)
        _check_user_data(params.get("LaunchSpecification") or {})
    elif operation == "ChangeResourceRecordSets":
        _check_route53(params)
    elif operation == "GetProducts":
        _check_get_products(params, region)
    elif operation == "DescribeSpotPriceHistory":
        _check_spot_history(params)
    elif operation == "DescribeInstanceTypeOfferings":
        _check_offerings(params)
    elif operation == "PutLifecyclePolicy":
        _check_lifecycle(params)


class EventualConsistency:
    """EC2's "a resource you just created may not be visible yet": the first call that names a
    group or an instance created moments ago answers NotFound once."""

    def __init__(self) -> None:
        self.answers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {}
        self.throttling: Throttling | None = None
        self.fresh: dict[str, str] = {}  # id -> the NotFound code it answers once
        self.lock = threading.Lock()
        self.answered: list[tuple[str, str]] = []  # (operation, id) that were made to fail

    def before(self, operation: str, params: dict[str, Any]) -> None:
        named = [*params.get("InstanceIds", []), *params.get("GroupIds", [])]
        if params.get("GroupId"):
            named.append(params["GroupId"])
        with self.lock:
            for ident in named:
                code = self.fresh.pop(ident, None)
                if code is not None:
                    self.answered.append((operation, ident))
                    raise Violation(code, f"The ID '{ident}' does not exist")

    def after(self, operation: str, result: dict[str, Any]) -> None:
        with self.lock:
            if operation == "CreateSecurityGroup" and "GroupId" in result:
                self.fresh[result["GroupId"]] = "InvalidGroup.NotFound"
            elif operation == "RunInstances":
                for instance in result.get("Instances", []):
                    self.fresh[instance["InstanceId"]] = "InvalidInstanceID.NotFound"


def _all_allowed(params: dict[str, Any]) -> dict[str, Any]:
    names = params.get("ActionNames") or []
    return {"EvaluationResults": [{"EvalActionName": n, "EvalDecision": "allowed"} for n in names]}


# The Price List as these tests' AWS has it (not the bundled table: a test tells them apart).
LIST_PRICES = {
    ("us-east-1", "t3.medium"): "0.0418000000",
    ("us-east-1", "t3.large"): "0.0836000000",
    ("eu-west-1", "t3.medium"): "0.0457000000",
    ("us-east-1", "gp3"): "0.0800000000",
    ("eu-west-1", "gp3"): "0.0880000000",
}
SPOT_PRICES = {"t3.medium": "0.0143", "t3.large": "0.0281"}


def _price_list(params: dict[str, Any]) -> dict[str, Any]:
    """GetProducts in the documented aws_v1 shape: PriceList holds one JSON string per product,
    with terms.OnDemand.<offer>.priceDimensions.<rate>.pricePerUnit.USD."""
    fields = {f["Field"]: f["Value"] for f in params.get("Filters") or []}
    region = fields.get("regionCode", "")
    product = fields.get("instanceType") or fields.get("volumeApiName", "")
    usd = LIST_PRICES.get((region, product))
    if usd is None:
        return {"FormatVersion": "aws_v1", "PriceList": []}
    sku = "JRTCKXETXF"
    item = {
        "product": {"productFamily": "Compute Instance", "attributes": fields, "sku": "SKU1"},
        "serviceCode": "AmazonEC2",
        "terms": {
            "OnDemand": {
                f"SKU1.{sku}": {
                    "offerTermCode": sku,
                    "priceDimensions": {
                        f"SKU1.{sku}.6YS6EN2CT7": {
                            "unit": "Hrs" if "instanceType" in fields else "GB-Mo",
                            "pricePerUnit": {"USD": usd},
                        }
                    },
                }
            }
        },
    }
    return {"FormatVersion": "aws_v1", "PriceList": [json.dumps(item)]}


def _spot_history(params: dict[str, Any]) -> dict[str, Any]:
    """moto answers every type at $0.00001 and ignores the product; AWS's latest price."""
    zone = params.get("AvailabilityZone", "us-east-1a")
    history = [
        {
            "AvailabilityZone": zone,
            "InstanceType": kind,
            "ProductDescription": "Linux/UNIX",
            "SpotPrice": SPOT_PRICES[kind],
            "Timestamp": "2026-11-30T10:00:00Z",
        }
        for kind in params.get("InstanceTypes") or []
        if kind in SPOT_PRICES
    ]
    return {"SpotPriceHistory": history[: int(params.get("MaxResults", 1000)) or None]}


# What moto does not implement, answered in the shape AWS documents (tests may replace one,
# e.g. to deny an action or to name a customer-managed key). A Violation raised by an answer
# is AWS refusing.
MOTO_LACKS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "GetEbsDefaultKmsKeyId": lambda _: {
        "KmsKeyId": "arn:aws:kms:us-east-1:123456789012:alias/aws/ebs"
    },
    "SimulatePrincipalPolicy": _all_allowed,
    "GetProducts": _price_list,
    "DescribeSpotPriceHistory": _spot_history,
}


CONSISTENCY_CHECKED = (
    "DescribeInstances",
    "AuthorizeSecurityGroupIngress",
    "DescribeSecurityGroups",
)


def install(
    consistency: EventualConsistency | None = None,
    answers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] | None = None,
) -> Callable[[], None]:
    """Wrap botocore's client call; returns the function that removes the wrap again."""
    from botocore.client import BaseClient
    from botocore.exceptions import ClientError

    original = BaseClient._make_api_call
    lacking = dict(MOTO_LACKS) if answers is None else answers

    def strict_call(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        try:
            check(operation_name, api_params, self.meta.region_name)
            if consistency is not None and operation_name in CONSISTENCY_CHECKED:
                consistency.before(operation_name, api_params)
            if operation_name in lacking:
                return lacking[operation_name](api_params)
        except Violation as exc:
            error = {"Error": {"Code": exc.code, "Message": exc.message}}
            raise ClientError(error, operation_name) from None
        result = original(self, operation_name, api_params)
        if consistency is not None:
            consistency.after(operation_name, result)
        return result

    BaseClient._make_api_call = strict_call

    def remove() -> None:
        BaseClient._make_api_call = original

    return remove


class Throttling:
    """AWS's request rate limit, at random: a request's first attempt answers RequestLimitExceeded
    with probability `rate` (seeded, so a failure reproduces). Injected below botocore's retry
    loop, where AWS's answer arrives, so podbay's retry configuration is what meets it. A test
    may throttle later attempts too (`attempts`), only some operations (`only`), and only so
    many times (`budget`)."""

    def __init__(self, rate: float, seed: int | str = 0) -> None:
        self.rate = rate
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.attempts = 1
        self.only: set[str] | None = None
        self.budget: int | None = None
        self.throttled: list[str] = []  # operations that were made to wait

    def decide(self, operation: str, attempt: int) -> bool:
        with self.lock:
            if attempt > self.attempts or (self.only is not None and operation not in self.only):
                return False
            if self.budget is not None and len(self.throttled) >= self.budget:
                return False
            if self.random.random() >= self.rate:
                return False
            self.throttled.append(operation)
            return True


THROTTLED_BODY = (
    b"<Response><Errors><Error><Code>RequestLimitExceeded</Code>"
    b"<Message>Request limit exceeded.</Message></Error></Errors></Response>"
)


class _Body:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


def install_throttling(throttling: Throttling) -> Callable[[], None]:
    """Wrap botocore's send of one attempt; returns the function that removes the wrap again."""
    from botocore.awsrequest import AWSResponse
    from botocore.endpoint import Endpoint

    original = Endpoint._do_get_response

    def throttled(self: Any, request: Any, operation_model: Any, context: Any) -> Any:
        attempt = int((context.get("retries") or {}).get("attempt", 1))
        if not throttling.decide(operation_model.name, attempt):
            return original(self, request, operation_model, context)
        response = AWSResponse(request.url, 503, {}, _Body(THROTTLED_BODY))
        parsed = {
            "Error": {"Code": "RequestLimitExceeded", "Message": "Request limit exceeded."},
            "ResponseMetadata": {"HTTPStatusCode": 503, "HTTPHeaders": {}},
        }
        return (response, parsed), None

    Endpoint._do_get_response = throttled

    def remove() -> None:
        Endpoint._do_get_response = original

    return remove
