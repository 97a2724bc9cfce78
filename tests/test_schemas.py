"""Tests of sandbox/scripts/extract_schemas.py (pure parsing on inline TypeScript) and of the committed schema JSON.

Offline and fast: no npm, no network; the committed JSON is only read.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import sys
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "sandbox" / "atlasiam_sandbox" / "schemas"


def _load_extractor() -> ModuleType:
    """Import sandbox/scripts/extract_schemas.py (not a package) by path."""
    spec = importlib.util.spec_from_file_location(
        "extract_schemas", ROOT / "sandbox" / "scripts" / "extract_schemas.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("extract_schemas", module)
    spec.loader.exec_module(module)
    return module


ex = _load_extractor()

# --------------------------------------------------------------------------------------------------
# A small cdktf-shaped TypeScript module (same layout as the generated provider code)
# --------------------------------------------------------------------------------------------------

THING_TS = """
import * as cdktf from 'cdktf';

export interface ThingConfig extends cdktf.TerraformMetaArguments {
  /**
  * The thing's name.
  *
  * Docs at Terraform Registry: {@link https://example.invalid/docs#name Thing#name}
  */
  readonly name: string;
  /**
  * Docs at Terraform Registry: {@link https://example.invalid/docs#zones Thing#zones}
  */
  readonly zones?: string[];
  /**
  * Docs at Terraform Registry: {@link https://example.invalid/docs#labels Thing#labels}
  */
  readonly labels?: { [key: string]: string };
  /**
  * Docs at Terraform Registry: {@link https://example.invalid/docs#ingress Thing#ingress}
  */
  readonly ingress?: ThingIngress[] | cdktf.IResolvable;
  /**
  * options block
  *
  * Docs at Terraform Registry: {@link https://example.invalid/docs#options Thing#options}
  */
  readonly options?: ThingOptions;
  /**
  * rule block
  *
  * Docs at Terraform Registry: {@link https://example.invalid/docs#rule Thing#rule}
  */
  readonly rule: ThingRule[] | cdktf.IResolvable;
}
export interface ThingOptions {
  /**
  * Docs at Terraform Registry: {@link https://example.invalid/docs#mode Thing#mode}
  */
  readonly mode?: string;
}

export function thingOptionsToHclTerraform(struct?: ThingOptionsOutputReference | ThingOptions): any {
  const attrs = {
    mode: {
      value: cdktf.stringToHclTerraform(struct!.mode),
      isBlock: false,
      type: "simple",
      storageClassType: "string",
    },
  };
  return attrs;
}

export class ThingOptionsOutputReference extends cdktf.ComplexObject {
  // mode - computed: true, optional: true, required: false
  private _mode?: string;
  public get mode() {
    return this.getStringAttribute('mode');
  }
}
export interface ThingRule {
  /**
  * Docs at Terraform Registry: {@link https://example.invalid/docs#port Thing#port}
  */
  readonly port: number;
}

export function thingRuleToHclTerraform(struct?: ThingRule | cdktf.IResolvable): any {
  const attrs = {
    port: {
      value: cdktf.numberToHclTerraform(struct!.port),
      isBlock: false,
      type: "simple",
      storageClassType: "number",
    },
  };
  return attrs;
}

export class ThingRuleOutputReference extends cdktf.ComplexObject {
  // port - computed: false, optional: false, required: true
  private _port?: number;
  public get port() {
    return this.getNumberAttribute('port');
  }
}

export class ThingRuleList extends cdktf.ComplexList {
}
export interface ThingIngress {
  readonly fromPort?: number;
}

export function thingIngressToHclTerraform(struct?: ThingIngress | cdktf.IResolvable): any {
  const attrs = {
    from_port: {
      value: cdktf.numberToHclTerraform(struct!.fromPort),
      isBlock: false,
      type: "simple",
      storageClassType: "number",
    },
  };
  return attrs;
}

export class ThingIngressOutputReference extends cdktf.ComplexObject {
  // from_port - computed: true, optional: true, required: false
  private _fromPort?: number;
  public get fromPort() {
    return this.getNumberAttribute('from_port');
  }
}

export class ThingIngressList extends cdktf.ComplexList {
}
export interface ThingEndpoints {
}

export class ThingEndpointsOutputReference extends cdktf.ComplexObject {
  // dns_name - computed: true, optional: false, required: false
  public get dnsName() {
    return this.getStringAttribute('dns_name');
  }

  // ports - computed: true, optional: false, required: false
  public get ports() {
    return cdktf.Token.asNumberList(cdktf.Fn.tolist(this.getNumberListAttribute('ports')));
  }
}

export class ThingEndpointsList extends cdktf.ComplexList {
}

export class Thing extends cdktf.TerraformResource {
  public static readonly tfResourceType = "x_thing";

  // ==========
  // ATTRIBUTES
  // ==========

  // arn - computed: true, optional: false, required: false
  public get arn() {
    return this.getStringAttribute('arn');
  }

  // endpoints - computed: true, optional: false, required: false
  private _endpoints = new ThingEndpointsList(this, "endpoints", false);
  public get endpoints() {
    return this._endpoints;
  }

  // id - computed: true, optional: true, required: false
  private _id?: string;
  public get id() {
    return this.getStringAttribute('id');
  }

  // ingress - computed: true, optional: true, required: false
  private _ingress = new ThingIngressList(this, "ingress", true);
  public get ingress() {
    return this._ingress;
  }

  // labels - computed: false, optional: true, required: false
  private _labels?: { [key: string]: string };
  public get labels() {
    return this.getStringMapAttribute('labels');
  }

  // name - computed: false, optional: false, required: true
  private _name?: string;
  public get name() {
    return this.getStringAttribute('name');
  }

  // state - computed: true, optional: false, required: false
  private _state = new cdktf.StringMap(this, "state");
  public get state() {
    return this._state;
  }

  // zones - computed: true, optional: true, required: false
  private _zones?: string[];
  public get zones() {
    return this.getListAttribute('zones');
  }

  // options - computed: false, optional: true, required: false
  private _options = new ThingOptionsOutputReference(this, "options");
  public get options() {
    return this._options;
  }

  // rule - computed: false, optional: false, required: true
  private _rule = new ThingRuleList(this, "rule", true);
  public get rule() {
    return this._rule;
  }

  // =========
  // SYNTHESIS
  // =========

  protected synthesizeHclAttributes(): { [name: string]: any } {
    const attrs = {
      id: {
        value: cdktf.stringToHclTerraform(this._id),
        isBlock: false,
        type: "simple",
        storageClassType: "string",
      },
      ingress: {
        value: cdktf.listMapperHcl(thingIngressToHclTerraform, false)(this._ingress.internalValue),
        isBlock: true,
        type: "set",
        storageClassType: "ThingIngressList",
      },
      labels: {
        value: cdktf.hashMapperHcl(cdktf.stringToHclTerraform)(this._labels),
        isBlock: false,
        type: "map",
        storageClassType: "stringMap",
      },
      name: {
        value: cdktf.stringToHclTerraform(this._name),
        isBlock: false,
        type: "simple",
        storageClassType: "string",
      },
      zones: {
        value: cdktf.listMapperHcl(cdktf.stringToHclTerraform, false)(this._zones),
        isBlock: false,
        type: "list",
        storageClassType: "stringList",
      },
      options: {
        value: thingOptionsToHclTerraform(this._options.internalValue),
        isBlock: true,
        type: "list",
        storageClassType: "ThingOptionsList",
      },
      rule: {
        value: cdktf.listMapperHcl(thingRuleToHclTerraform, true)(this._rule.internalValue),
        isBlock: true,
        type: "set",
        storageClassType: "ThingRuleList",
      },
    };
    return attrs;
  }
}
"""


def _as_js(ts: str) -> str:
    """Wrap TypeScript the way tsc emits it: compiled JS + inline base64 source map."""
    source_map = {
        "version": 3,
        "sources": ["../../src/thing/index.ts"],
        "sourcesContent": [ts],
        "mappings": "",
    }
    encoded = base64.b64encode(json.dumps(source_map).encode()).decode()
    return f'"use strict";\nexports.Thing = 1;\n//# sourceMappingURL=data:application/json;base64,{encoded}'


@pytest.fixture(scope="module")
def thing() -> dict[str, Any]:
    """The BLOCK extracted from the synthetic module."""
    tf_type, block = ex.extract_module(_as_js(THING_TS))
    assert tf_type == "x_thing"
    return block


def test_decode_source_map_roundtrip() -> None:
    """The TypeScript comes back verbatim from the inline source map."""
    assert ex.decode_source_map(_as_js(THING_TS)) == THING_TS


def test_decode_source_map_missing() -> None:
    """A JS file without a source map is an extraction error, not an empty schema."""
    with pytest.raises(ex.ExtractionError):
        ex.decode_source_map('"use strict";')


def test_required_string(thing: dict[str, Any]) -> None:
    """``required: true`` -> only the required flag; description taken from the doc comment."""
    name = thing["attributes"]["name"]
    assert name["type"] == "string"
    assert name["required"] is True
    assert "optional" not in name and "computed" not in name
    assert name["description"] == "The thing's name."
    assert name["description_kind"] == "plain"


def test_optional_computed_list_of_strings(thing: dict[str, Any]) -> None:
    """``computed: true, optional: true`` + ``stringList``/``list`` -> ["list", "string"], both flags."""
    zones = thing["attributes"]["zones"]
    assert zones["type"] == ["list", "string"]
    assert zones["optional"] is True and zones["computed"] is True
    assert "required" not in zones


def test_map_attribute(thing: dict[str, Any]) -> None:
    """An optional ``stringMap`` and a computed-only ``cdktf.StringMap`` are map(string) attributes."""
    assert thing["attributes"]["labels"] == {
        "type": ["map", "string"],
        "description_kind": "plain",
        "optional": True,
    }
    assert thing["attributes"]["state"]["type"] == ["map", "string"]
    assert thing["attributes"]["state"]["computed"] is True


def test_computed_only_attributes(thing: dict[str, Any]) -> None:
    """Computed-only members (getter types, computed nested lists) are attributes, never blocks."""
    assert thing["attributes"]["arn"] == {"type": "string", "description_kind": "plain", "computed": True}
    endpoints = thing["attributes"]["endpoints"]
    assert endpoints["type"] == ["list", ["object", {"dns_name": "string", "ports": ["set", "number"]}]]
    assert thing["attributes"]["id"]["optional"] is True


def test_max_one_block(thing: dict[str, Any]) -> None:
    """An ``XOutputReference`` block with HCL type list -> nesting list, max_items 1."""
    options = thing["block_types"]["options"]
    assert options["nesting_mode"] == "list"
    assert options["max_items"] == 1
    assert "min_items" not in options
    assert options["block"]["attributes"]["mode"]["computed"] is True


def test_set_block_required(thing: dict[str, Any]) -> None:
    """``XList(…, true)`` block -> nesting set; a required block gets min_items 1."""
    rule = thing["block_types"]["rule"]
    assert rule["nesting_mode"] == "set"
    assert rule["min_items"] == 1
    assert "max_items" not in rule
    assert rule["block"]["attributes"]["port"] == {
        "type": "number",
        "description_kind": "plain",
        "required": True,
    }


def test_attributes_as_blocks_stay_attributes(thing: dict[str, Any]) -> None:
    """``listMapperHcl(fn, false)`` (SDKv2 ConfigModeAttr) -> a set-of-object attribute, not a block."""
    assert "ingress" not in thing["block_types"]
    ingress = thing["attributes"]["ingress"]
    assert ingress["type"] == ["set", ["object", {"from_port": "number"}]]
    assert ingress["optional"] is True and ingress["computed"] is True


def test_hcl_entry_parsing() -> None:
    """The attrs object of a ``*ToHclTerraform`` function is parsed into entries."""
    entries = ex.parse_hcl_entries(THING_TS[THING_TS.find("synthesizeHclAttributes") :])
    assert entries["rule"].is_block and entries["rule"].kind == "set" and entries["rule"].struct == "ThingRule"
    assert entries["zones"].struct is None and entries["zones"].camel == "zones"
    assert ex.hcl_primitive(entries["zones"]) == ["list", "string"]


def test_doc_description_block_marker() -> None:
    """``<name> block`` marks a block and is not a description; markdown links lose their targets."""
    assert ex.doc_description("\n  * rule block\n  *\n  * Docs at Terraform Registry: x\n") == ("", True)
    text, block = ex.doc_description("\n  * See [the docs](https://example.invalid/a) now.\n")
    assert (text, block) == ("See the docs now.", False)


def test_unknown_getter_is_an_error() -> None:
    """Unrecognised generated code fails loudly instead of guessing a type."""
    member = ex.Member(
        "odd", computed=True, optional=False, required=False, body="return this.getWeirdAttribute('odd');"
    )
    with pytest.raises(ex.ExtractionError):
        ex.getter_primitive(member)


# --------------------------------------------------------------------------------------------------
# The committed JSON
# --------------------------------------------------------------------------------------------------

AWS_RESOURCES = {
    "aws_vpc", "aws_subnet", "aws_internet_gateway", "aws_route_table", "aws_route",
    "aws_route_table_association",
    "aws_security_group", "aws_vpc_security_group_egress_rule", "aws_vpc_security_group_ingress_rule",
    "aws_default_security_group", "aws_iam_role", "aws_iam_role_policy_attachment", "aws_iam_role_policy",
    "aws_iam_policy", "aws_iam_instance_profile", "aws_instance", "aws_flow_log", "aws_cloudwatch_log_group",
    "aws_kms_key", "aws_vpc_endpoint", "aws_eip", "aws_s3_bucket", "aws_s3_bucket_public_access_block",
    "aws_s3_bucket_server_side_encryption_configuration", "aws_s3_bucket_versioning", "aws_s3_bucket_policy",
    "aws_s3_object", "aws_eks_pod_identity_association",
}  # fmt: skip
AWS_DATA_SOURCES = {
    "aws_iam_policy_document", "aws_partition", "aws_region", "aws_caller_identity", "aws_ssm_parameter",
    "aws_vpc", "aws_subnet", "aws_ami", "aws_ec2_instance_type_offerings",
}  # fmt: skip
ATLAS_RESOURCES = {
    "mongodbatlas_database_user", "mongodbatlas_project_ip_access_list", "mongodbatlas_advanced_cluster",
    "mongodbatlas_project", "mongodbatlas_cloud_provider_access_setup",
    "mongodbatlas_cloud_provider_access_authorization", "mongodbatlas_privatelink_endpoint",
    "mongodbatlas_privatelink_endpoint_service",
}  # fmt: skip
ATLAS_DATA_SOURCES = {"mongodbatlas_advanced_cluster", "mongodbatlas_project", "mongodbatlas_database_user"}
FLAG_SETS = [{"required"}, {"optional"}, {"computed"}, {"optional", "computed"}]


@cache
def load(provider: str) -> dict[str, Any]:
    """The committed schema document of ``provider``."""
    return json.loads((SCHEMAS / f"{provider}.json").read_text(encoding="utf-8"))


def _check_cty(cty: Any) -> None:
    """Assert ``cty`` is a valid Terraform JSON type encoding."""
    if isinstance(cty, str):
        assert cty in ("string", "number", "bool", "dynamic")
        return
    assert isinstance(cty, list) and len(cty) == 2
    if cty[0] == "object":
        assert isinstance(cty[1], dict) and cty[1]
        for inner in cty[1].values():
            _check_cty(inner)
    else:
        assert cty[0] in ("list", "set", "map")
        _check_cty(cty[1])


def _check_block(block: dict[str, Any]) -> None:
    """Assert ``block`` follows the BLOCK contract."""
    assert set(block) <= {"attributes", "block_types"}
    for attr in block["attributes"].values():
        _check_cty(attr["type"])
        assert attr["description_kind"] == "plain"
        flags = {k for k in ("required", "optional", "computed") if attr.get(k)}
        assert flags in FLAG_SETS
        assert all(attr[k] is True for k in flags)
    for nested in block.get("block_types", {}).values():
        assert nested["nesting_mode"] in ("list", "set", "single")
        assert set(nested) <= {"nesting_mode", "block", "min_items", "max_items"}
        _check_block(nested["block"])


@pytest.mark.parametrize(
    ("provider", "resources", "data_sources"),
    [("aws", AWS_RESOURCES, AWS_DATA_SOURCES), ("mongodbatlas", ATLAS_RESOURCES, ATLAS_DATA_SOURCES)],
)
def test_all_types_present_and_well_formed(provider: str, resources: set[str], data_sources: set[str]) -> None:
    """Exactly the listed types, each with an ``id``, version 0 and a contract-conforming block."""
    doc = load(provider)
    assert set(doc) == {"provenance", "provider", "resource_schemas", "data_source_schemas"}
    assert set(doc["resource_schemas"]) == resources
    assert set(doc["data_source_schemas"]) == data_sources
    assert doc["provider"]["version"] == 0
    _check_block(doc["provider"]["block"])
    for kind in ("resource_schemas", "data_source_schemas"):
        for name, schema in doc[kind].items():
            assert schema["version"] == 0
            if name == "mongodbatlas_advanced_cluster":  # 2.0.0 dropped the root id (cluster_id instead)
                assert "id" not in schema["block"]["attributes"] and "cluster_id" in schema["block"]["attributes"]
                _check_block(schema["block"])
                continue
            assert "id" in schema["block"]["attributes"]
            assert schema["block"]["attributes"]["id"]["type"] == "string"
            _check_block(schema["block"])


@pytest.mark.parametrize(
    ("provider", "package", "version", "source", "provider_version"),
    [
        ("aws", "@cdktf/provider-aws", "21.22.1", "hashicorp/aws", "6.25.0"),
        ("mongodbatlas", "@cdktf/provider-mongodbatlas", "8.6.2", "mongodb/mongodbatlas", "1.41.1"),
    ],
)
def test_provenance(provider: str, package: str, version: str, source: str, provider_version: str) -> None:
    """Provenance names the npm package, the provider version, the script and what is not recoverable."""
    prov = load(provider)["provenance"]
    assert prov["npm_package"] == package
    assert prov["npm_version"] == version
    assert prov["source"] == source
    assert prov["provider_version"] == provider_version
    assert prov["extracted_by"] == "sandbox/scripts/extract_schemas.py"
    assert prov["method"] and "\n" not in prov["method"]
    assert prov["not_recoverable"] == [
        "sensitive",
        "deprecated",
        "ForceNew",
        "defaults",
        "provider-side validators",
    ]
    assert isinstance(prov["changes"], list)


def test_json_is_stable_sorted() -> None:
    """Files are written with sorted keys (stable diffs): re-serialising reproduces them."""
    for provider in ("aws", "mongodbatlas"):
        text = (SCHEMAS / f"{provider}.json").read_text(encoding="utf-8")
        assert text == json.dumps(json.loads(text), indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def test_aws_iam_role() -> None:
    """aws_iam_role: required assume_role_policy (string), computed arn."""
    attrs = load("aws")["resource_schemas"]["aws_iam_role"]["block"]["attributes"]
    assert attrs["assume_role_policy"]["type"] == "string"
    assert attrs["assume_role_policy"]["required"] is True
    assert attrs["arn"]["computed"] is True and "optional" not in attrs["arn"]
    assert attrs["path"]["optional"] is True


def test_aws_instance() -> None:
    """aws_instance: metadata_options is a max-one block; iam_instance_profile an attribute."""
    block = load("aws")["resource_schemas"]["aws_instance"]["block"]
    metadata = block["block_types"]["metadata_options"]
    assert metadata["nesting_mode"] == "list" and metadata["max_items"] == 1
    assert {"http_tokens", "http_put_response_hop_limit", "http_endpoint"} <= set(metadata["block"]["attributes"])
    assert block["attributes"]["iam_instance_profile"]["type"] == "string"
    assert block["block_types"]["timeouts"]["nesting_mode"] == "single"


def test_aws_policy_document_and_security_group() -> None:
    """Nested list/set blocks of the policy document; security group rules are attributes-as-blocks."""
    doc = load("aws")
    statement = doc["data_source_schemas"]["aws_iam_policy_document"]["block"]["block_types"]["statement"]
    assert statement["nesting_mode"] == "list"
    assert statement["block"]["block_types"]["principals"]["nesting_mode"] == "set"
    assert doc["data_source_schemas"]["aws_iam_policy_document"]["block"]["attributes"]["json"]["computed"]
    ingress = doc["resource_schemas"]["aws_security_group"]["block"]["attributes"]["ingress"]
    assert ingress["type"][0] == "set" and ingress["type"][1][0] == "object"


def test_aws_provider_block() -> None:
    """The aws provider configuration block has region and the assume_role / default_tags blocks."""
    block = load("aws")["provider"]["block"]
    assert block["attributes"]["region"] == {
        **block["attributes"]["region"],
        "type": "string",
        "optional": True,
    }
    assert {"assume_role", "default_tags", "endpoints"} <= set(block["block_types"])


def test_mongodbatlas_database_user() -> None:
    """mongodbatlas_database_user: required identity fields, aws_iam_type, roles and scopes blocks."""
    block = load("mongodbatlas")["resource_schemas"]["mongodbatlas_database_user"]["block"]
    for name in ("username", "project_id", "auth_database_name"):
        assert block["attributes"][name]["required"] is True, name
    assert block["attributes"]["aws_iam_type"]["optional"] is True
    roles = block["block_types"]["roles"]
    assert roles["nesting_mode"] in ("set", "list")
    assert roles["block"]["attributes"]["role_name"]["required"] is True
    assert roles["block"]["attributes"]["database_name"]["required"] is True
    scopes = block["block_types"]["scopes"]
    assert {"name", "type"} <= set(scopes["block"]["attributes"])


def test_mongodbatlas_ip_access_list() -> None:
    """The three mutually exclusive sources of an access-list entry are optional."""
    attrs = load("mongodbatlas")["resource_schemas"]["mongodbatlas_project_ip_access_list"]["block"]["attributes"]
    for name in ("cidr_block", "ip_address", "aws_security_group"):
        assert attrs[name]["optional"] is True
    assert attrs["project_id"]["required"] is True


def test_mongodbatlas_advanced_cluster_2x() -> None:
    """2.x: connection_strings is an object attribute; replication_specs a required list-of-objects."""
    doc = load("mongodbatlas")
    data = doc["data_source_schemas"]["mongodbatlas_advanced_cluster"]["block"]
    conn = data["attributes"]["connection_strings"]
    assert conn["type"][0] == "object" and "standard_srv" in conn["type"][1]
    assert conn["computed"] is True
    resource = doc["resource_schemas"]["mongodbatlas_advanced_cluster"]["block"]
    assert "block_types" not in resource
    specs = resource["attributes"]["replication_specs"]
    assert specs["required"] is True and specs["type"][0] == "list"
    region_configs = specs["type"][1][1]["region_configs"]
    assert region_configs[0] == "list"
    assert region_configs[1][1]["electable_specs"][0] == "object"
    assert "num_shards" not in specs["type"][1][1]
    assert "disk_size_gb" not in resource["attributes"]
    assert resource["attributes"]["connection_strings"]["type"] == conn["type"]
    assert resource["attributes"]["tags"]["type"] == ["map", "string"]
    assert data["attributes"]["name"]["required"] is True and data["attributes"]["project_id"]["required"] is True
    assert doc["provenance"]["changes"]


def test_mongodbatlas_privatelink_2x() -> None:
    """PrivateLink pair: the fields the module sets are required, what it reads is computed; 2.0.0 flag added."""
    resources = load("mongodbatlas")["resource_schemas"]
    endpoint = resources["mongodbatlas_privatelink_endpoint"]["block"]["attributes"]
    for name in ("project_id", "provider_name", "region"):
        assert endpoint[name]["required"] is True, name
    for name in ("private_link_id", "endpoint_service_name", "status"):
        assert endpoint[name] == {"type": "string", "description_kind": "plain", "computed": True}, name
    service = resources["mongodbatlas_privatelink_endpoint_service"]["block"]["attributes"]
    for name in ("project_id", "private_link_id", "endpoint_service_id", "provider_name"):
        assert service[name]["required"] is True, name
    assert service["aws_connection_status"]["computed"] is True
    for attrs in (endpoint, service):  # added by 2.0.0 (absent from the 1.41.1 extraction)
        assert attrs["delete_on_create_timeout"] == {"type": "bool", "description_kind": "plain", "optional": True}


def test_aws_private_mode_types() -> None:
    """The S3 companions take a required bucket; the offerings data source filters and exports locations."""
    doc = load("aws")
    for name in (
        "aws_s3_bucket_public_access_block",
        "aws_s3_bucket_server_side_encryption_configuration",
        "aws_s3_bucket_versioning",
        "aws_s3_bucket_policy",
        "aws_s3_object",
    ):
        assert doc["resource_schemas"][name]["block"]["attributes"]["bucket"]["required"] is True, name
    s3_object = doc["resource_schemas"]["aws_s3_object"]["block"]["attributes"]
    assert s3_object["key"]["required"] is True
    assert {"source", "source_hash", "etag"} <= set(s3_object)
    versioning = doc["resource_schemas"]["aws_s3_bucket_versioning"]["block"]["block_types"]
    assert versioning["versioning_configuration"]["min_items"] == 1
    offerings = doc["data_source_schemas"]["aws_ec2_instance_type_offerings"]["block"]
    assert offerings["attributes"]["locations"] == {
        "type": ["list", "string"],
        "description_kind": "plain",
        "computed": True,
    }
    assert offerings["attributes"]["location_type"]["optional"] is True
    assert offerings["block_types"]["filter"]["nesting_mode"] == "set"
