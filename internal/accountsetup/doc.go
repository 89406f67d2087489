// Package accountsetup is what an administrator creates once per account
// (`buildrole bootstrap`): the GitHub OIDC provider, the bootstrap role's
// trust and permission policies, and the permissions boundary that caps
// every run role; rendered as JSON, CloudFormation or Terraform.
//
// The boundary follows the build catalogue, so it depends on buildpolicy and
// iampolicy. It must not depend on configuration, provisioning, the AWS SDK
// or the network: it prints documents and calls nothing.
package accountsetup
