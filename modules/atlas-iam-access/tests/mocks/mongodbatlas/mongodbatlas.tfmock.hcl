# What the mocked Atlas provider answers in every test file.

mock_data "mongodbatlas_advanced_cluster" {
  defaults = {
    connection_strings = {
      standard_srv = "mongodb+srv://cluster0.abcde.mongodb.net"
      private_endpoint = [
        {
          srv_connection_string = "mongodb+srv://cluster0-pl-0.abcde.mongodb.net"
          endpoints             = [{ endpoint_id = "vpce-0123456789abcdef0", provider_name = "AWS", region = "US_EAST_1" }]
        }
      ]
    }
  }
}

mock_resource "mongodbatlas_privatelink_endpoint" {
  defaults = {
    private_link_id       = "6500000000000000000000aa"
    endpoint_service_name = "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0"
  }
}
