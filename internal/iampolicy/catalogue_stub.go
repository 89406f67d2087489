package iampolicy

// CatalogueActions lists every action any Packer build may be granted: the
// union of the permission catalogue. It grows with the catalogue.
func CatalogueActions() []string { return PackerEC2Actions() }
