output "apps" {
  description = "Per app: the host to verify on, its role (the Atlas username), the connection string and the region."
  value = {
    for name, app in module.app : name => {
      instance_id = app.instance_id
      role_arn    = app.role_arn
      mongodb_uri = app.mongodb_uri
      region      = app.region
    }
  }
}
