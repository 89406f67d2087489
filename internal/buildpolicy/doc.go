// Package buildpolicy decides what one Packer build may do: the catalogue
// that maps template options to the EC2, KMS and SSM calls the
// packer-plugin-amazon steps make, the derivation of grants from a template
// (Derive), the guards (condition keys that narrow a grant further, and
// Explain, which says what each stops), scoping by region and by the run's
// tag (scope: tags), and the documents of the run's roles (the build role's
// permission policy and the trust policies of the build and instance roles).
//
// It depends on iampolicy and packertemplate only. It must not depend on
// account setup, the linter, configuration, the AWS SDK or the network.
package buildpolicy
