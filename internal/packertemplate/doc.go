// Package packertemplate reads Packer templates (HCL2 and legacy JSON) into
// the builder options that change what the build role needs. It is pure.
package packertemplate

import (
	_ "github.com/hashicorp/hcl/v2/hclparse" // pinned for the reader
)
