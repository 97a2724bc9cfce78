################################################################################
# The host: Amazon Linux 2023, IMDSv2 only, reachable over SSM, no SSH
################################################################################

data "aws_ssm_parameter" "ami" {
  name = var.ami_ssm_parameter
}

resource "aws_instance" "this" {
  #checkov:skip=CKV_AWS_88:By design: no NAT, so SSM/STS/Atlas traffic leaves via the internet gateway and Atlas admits this IP; the SG has no ingress.
  ami                         = data.aws_ssm_parameter.ami.insecure_value
  instance_type               = var.instance_type
  subnet_id                   = local.subnet_id
  vpc_security_group_ids      = [aws_security_group.this.id]
  iam_instance_profile        = aws_iam_instance_profile.this.name
  associate_public_ip_address = true
  monitoring                  = true
  ebs_optimized               = true
  user_data                   = file("${path.module}/user_data.sh")
  user_data_replace_on_change = true

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 2
  }

  root_block_device {
    encrypted   = true
    volume_type = "gp3"
    volume_size = var.root_volume_size
  }

  tags = { Name = local.name }

  depends_on = [aws_iam_role_policy_attachment.ssm]
}
