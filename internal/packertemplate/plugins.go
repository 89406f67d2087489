package packertemplate

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// AmazonPluginSource is the source a template's required_plugins names
// packer-plugin-amazon by.
const AmazonPluginSource = "github.com/hashicorp/amazon"

// PluginRequirement is a template's required_plugins entry for a plugin.
type PluginRequirement struct {
	Pos Pos
	// Version is the version constraint as written ("" when none, or when
	// it is not a literal string).
	Version string
}

var packerBlockSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "required_plugins"}}}

// requiredPlugins reads packer { required_plugins { NAME = { source, version } } }
// and keeps packer-plugin-amazon's entry. What it cannot read is left
// unknown: nothing here refuses a template.
func (l *hclLoader) requiredPlugins(b *hcl.Block) error {
	if b.Type != "packer" {
		return nil
	}
	content, _, _ := b.Body.PartialContent(packerBlockSchema)
	if content == nil {
		return nil
	}
	for _, rp := range content.Blocks {
		attrs, _ := rp.Body.JustAttributes()
		for _, a := range attrs {
			v, diags := a.Expr.Value(nil)
			if diags.HasErrors() || !v.IsWhollyKnown() || v.IsNull() || !(v.Type().IsObjectType() || v.Type().IsMapType()) {
				continue
			}
			if str(v, "source") != AmazonPluginSource {
				continue
			}
			l.t.AmazonPlugin = &PluginRequirement{Pos: posOf(a.Range), Version: str(v, "version")}
		}
	}
	return nil
}

// str is a string attribute of an object value, "" when absent or not a
// string.
func str(v cty.Value, name string) string {
	if v.Type().IsObjectType() && !v.Type().HasAttribute(name) {
		return ""
	}
	if v.Type().IsMapType() && !v.HasIndex(cty.StringVal(name)).True() {
		return ""
	}
	a := v.GetAttr(name)
	if v.Type().IsMapType() {
		a = v.Index(cty.StringVal(name))
	}
	if a.IsNull() || !a.IsKnown() || a.Type() != cty.String {
		return ""
	}
	return a.AsString()
}
