# The private-mode connection string (mocked providers).

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

mock_provider "mongodbatlas" {
  source = "./tests/mocks/mongodbatlas"
}

variables {
  name               = "orders"
  atlas_project_id   = "0123456789abcdef01234567"
  atlas_cluster_name = "Cluster0"
  database_roles     = [{ role_name = "readWrite", database_name = "orders" }]
  network_mode       = "private"
  wheelhouse_dir     = "./tests"
}

# verify connects over PrivateLink: the URI is the private-endpoint SRV string of the endpoint this module made,
# not another endpoint's of the same cluster, nor the public one. The cluster is read only after Atlas accepted
# the endpoint (depends_on), so a plan cannot know it: this run applies, to the mocked providers only.
run "private_uri_is_this_endpoints_srv" {
  command = apply

  override_resource {
    target = aws_vpc_endpoint.atlas
    values = {
      id = "vpce-0aaaaaaaaaaaaaaaa"
    }
  }

  override_data {
    target = data.mongodbatlas_advanced_cluster.this
    values = {
      connection_strings = {
        standard_srv = "mongodb+srv://cluster0.abcde.mongodb.net"
        private_endpoint = [
          {
            srv_connection_string = "mongodb+srv://cluster0-pl-0.abcde.mongodb.net"
            endpoints             = [{ endpoint_id = "vpce-0bbbbbbbbbbbbbbbb", provider_name = "AWS", region = "US_EAST_1" }]
          },
          {
            srv_connection_string = "mongodb+srv://cluster0-pl-1.abcde.mongodb.net"
            endpoints             = [{ endpoint_id = "vpce-0aaaaaaaaaaaaaaaa", provider_name = "AWS", region = "US_EAST_1" }]
          },
        ]
      }
    }
  }

  assert {
    condition     = output.mongodb_uri == "mongodb+srv://cluster0-pl-1.abcde.mongodb.net"
    error_message = "private mode: the URI is the SRV string of this module's endpoint, not ${nonsensitive(output.mongodb_uri)}"
  }
}
