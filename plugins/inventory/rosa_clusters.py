# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
name: rosa_clusters
version_added: 1.1.0
short_description: The ROSA clusters of AWS regions, one host each, for the playbooks of keycloak.aurora
description:
  - Lists one host per Red Hat OpenShift Service on AWS (ROSA) cluster, classic or hosted control plane, found
    from EC2 in O(regions), in the group C(rosa_clusters) that the playbooks of keycloak.aurora work on.
  - A ROSA cluster is found by its nodes, the EC2 instances tagged C(api.openshift.com/name=<cluster name>) and
    C(red-hat-clustertype=rosa) that are pending, running, stopping or stopped (a hibernated cluster is still
    there, and still peered).
  - Each host gets the variables the roles take, C(rosa_cluster_name), C(rosa_region), C(rosa_vpc_id),
    C(rosa_machine_cidr) (the primary CIDR block of the VPC), C(rosa_route_table_ids) (the route tables of the
    subnets its nodes run in), and C(ansible_connection=local); and for O(keyed_groups), O(groups) and
    O(compose) C(rosa_node_tags), the tags all its nodes carry with the same value, and C(rosa_account_id), the
    AWS account owning its VPC.
  - The host name is the cluster name; a name found in more than one region becomes C(<name>.<region>) in each.
  - Sends three kinds of read request per region, whatever the number of clusters (DescribeInstances, DescribeVpcs,
    DescribeRouteTables, each paginated), none with O(cache) while the cache is fresh.
  - A region that refuses the requests (C(AccessDenied), C(UnauthorizedOperation), C(AuthFailure),
    C(OptInRequired)) is reported as a warning and its clusters are missing; so is a cluster whose nodes are in
    more than one VPC. Any other error fails.
  - The file must be named C(<anything>.rosa_clusters.yml) or C(<anything>.rosa_clusters.yaml).
author:
  - keycloak.aurora maintainers (!UNKNOWN)
extends_documentation_fragment:
  - inventory_cache
  - constructed
  - amazon.aws.boto3
  - amazon.aws.common.plugins
  - amazon.aws.region.plugins
  - amazon.aws.assume_role.plugins
options:
  plugin:
    description: The name of this plugin; this file is its configuration.
    type: str
    required: true
    choices: [keycloak.aurora.rosa_clusters]
  regions:
    description:
      - The AWS regions to find ROSA clusters in.
    type: list
    elements: str
    required: true
  include_clusters:
    description:
      - Shell-style patterns (C(*), C(?), C([...])) of the cluster names to list; empty lists every cluster.
    type: list
    elements: str
    default: []
  exclude_clusters:
    description:
      - Shell-style patterns of cluster names to leave out, even when O(include_clusters) names them.
    type: list
    elements: str
    default: []
notes:
  - The credentials need C(ec2:DescribeInstances), C(ec2:DescribeVpcs) and C(ec2:DescribeRouteTables) in each region.
  - With O(compose) a host can get any other variable of the collection, for example C(rosa_kubeconfig).
"""

EXAMPLES = r"""
# aws.rosa_clusters.yml: every ROSA cluster of two regions
plugin: keycloak.aurora.rosa_clusters
regions:
  - eu-west-1
  - us-east-1

---
# prod.rosa_clusters.yml: the production clusters, grouped by region, with a kubeconfig each, cached for an hour
plugin: keycloak.aurora.rosa_clusters
regions: [eu-west-1, eu-central-1]
include_clusters: ["prod-*"]
exclude_clusters: ["prod-*-canary"]
keyed_groups:
  # region_eu_west_1, region_eu_central_1
  - key: rosa_region
    prefix: region
  # from a tag all nodes of a cluster carry: site_a, site_b
  - key: rosa_node_tags['site'] | default('none')
    prefix: site
compose:
  rosa_kubeconfig: "'~/.kube/' ~ rosa_cluster_name"
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/keycloak-aurora-inventory
cache_timeout: 3600
"""

import fnmatch

from ansible_collections.amazon.aws.plugins.module_utils import ec2
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.plugin_utils.inventory import AWSInventoryBase

from ansible_collections.keycloak.aurora.plugins.module_utils import rosa
from ansible_collections.keycloak.aurora.plugins.module_utils.entry_checks import ROSA_GROUP
from ansible_collections.keycloak.aurora.plugins.module_utils.exceptions import AuroraError

# What AWS answers for a region the credentials may not read, or the account has not enabled: that region
# is reported and skipped, the others are listed.
REGION_REFUSALS = ("AccessDenied", "UnauthorizedOperation", "AuthFailure", "OptInRequired")


def refusal_code(error):
    """The AWS error code of ``error`` (botocore's, possibly wrapped by amazon.aws) when it is a region's refusal."""
    cause = getattr(error, "exception", None) or error
    code = getattr(cause, "response", {}).get("Error", {}).get("Code")
    return code if code in REGION_REFUSALS else None


def name_wanted(name, include, exclude):
    """Whether the cluster ``name`` is listed: it matches a pattern of ``include`` (or that is empty), and none of
    ``exclude``."""
    included = not include or any(fnmatch.fnmatchcase(name, pattern) for pattern in include)
    return included and not any(fnmatch.fnmatchcase(name, pattern) for pattern in exclude)


def host_names(clusters):
    """{(cluster name, region): host name}: the cluster name, or ``<name>.<region>`` for a name found in several
    regions, where one host per cluster would otherwise become one host for several."""
    regions_of = {}
    for cluster in clusters:
        regions_of.setdefault(cluster["cluster_name"], set()).add(cluster["region"])
    return {
        (c["cluster_name"], c["region"]): (
            c["cluster_name"] if len(regions_of[c["cluster_name"]]) == 1 else f"{c['cluster_name']}.{c['region']}"
        )
        for c in clusters
    }


def host_vars(cluster):
    """The variables of a found cluster's host: the roles' inputs, and what groups and compose may use."""
    network = cluster["network"]
    return {
        "rosa_cluster_name": network["cluster_name"],
        "rosa_region": network["region"],
        "rosa_vpc_id": network["vpc_id"],
        "rosa_machine_cidr": network["machine_cidr"],
        "rosa_route_table_ids": network["route_table_ids"],
        "ansible_connection": "local",
        "rosa_node_tags": cluster["tags"],
        "rosa_account_id": network["owner_id"],
    }


def region_clusters(region, instances, vpcs, route_tables):
    """Every ROSA cluster of ``region`` from the described nodes, VPCs and route tables, sorted by name.

    Each is {cluster_name, region, network, tags}, or {cluster_name, region, problem} when its network cannot be
    told (its nodes in several VPCs): kept, so that the clusters filtered out later are not reported.
    """
    clusters = []
    for name, nodes in sorted(rosa.nodes_by_cluster(instances).items()):
        found = {"cluster_name": name, "region": region}
        try:
            found["network"] = rosa.estate_network(
                cluster_name=name, region=region, instances=nodes, vpcs=vpcs, route_tables=route_tables
            )
            found["tags"] = rosa.common_tags(nodes)
        except AuroraError as e:
            found["problem"] = str(e)
        clusters.append(found)
    return clusters


def region_vpc_ids(instances):
    return sorted({instance["VpcId"] for instance in instances if instance.get("VpcId")})


class InventoryModule(AWSInventoryBase):
    NAME = "keycloak.aurora.rosa_clusters"
    INVENTORY_FILE_SUFFIXES = ("rosa_clusters.yml", "rosa_clusters.yaml")

    def _describe_region(self, region):
        """The ROSA clusters of one region (region_clusters); three kinds of read, each paginated."""
        # amazon.aws's ec2 helpers retry throttled requests themselves.
        client = self.client("ec2", region=region)
        instances = rosa.instances_of(ec2.describe_instances(client, Filters=rosa.estate_filters()))
        vpc_ids = region_vpc_ids(instances)
        if not vpc_ids:
            return []
        # By filter: one VPC an id list names that is not visible yet would make AWS refuse the whole list.
        vpcs = {vpc["VpcId"]: vpc for vpc in ec2.describe_vpcs(client, Filters=[{"Name": "vpc-id", "Values": vpc_ids}])}
        route_tables = ec2.describe_route_tables(client, Filters=[{"Name": "vpc-id", "Values": vpc_ids}])
        return region_clusters(region, instances, vpcs, route_tables)

    def _discover(self, regions):
        """{clusters: [...], skipped_regions: {region: why}}: what the cache keeps, before any filter."""
        clusters, skipped = [], {}
        for region in regions:
            try:
                clusters += self._describe_region(region)
            except AnsibleAWSError as e:
                if not refusal_code(e):
                    self.fail_aws(f"Failed to find the ROSA clusters of region {region}", exception=e.exception or e)
                skipped[region] = str(e.exception or e)
        return {"clusters": clusters, "skipped_regions": skipped}

    def _populate(self, found):
        for region, why in sorted(found["skipped_regions"].items()):
            self.warn(f"The ROSA clusters of region {region} are not listed: {why}")
        include, exclude = self.get_option("include_clusters"), self.get_option("exclude_clusters")
        wanted = [c for c in found["clusters"] if name_wanted(c["cluster_name"], include, exclude)]
        for cluster in wanted:
            if "problem" in cluster:
                self.warn(f"The ROSA cluster {cluster['cluster_name']} is not listed: {cluster['problem']}")
        listed = [c for c in wanted if "problem" not in c]
        names = host_names(listed)
        self.inventory.add_group(ROSA_GROUP)
        strict = self.get_option("strict")
        for cluster in listed:
            host = names[(cluster["cluster_name"], cluster["region"])]
            variables = host_vars(cluster)
            self.inventory.add_host(host, group=ROSA_GROUP)
            for key, value in variables.items():
                self.inventory.set_variable(host, key, value)
            self._set_composite_vars(self.get_option("compose"), variables, host, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), variables, host, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), variables, host, strict=strict)

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache=cache)
        was_cached, found = self.get_cached_result(path, cache)
        if not was_cached:
            found = self._discover(self.get_option("regions"))
        self._populate(found)
        self.update_cached_result(path, cache, found)
