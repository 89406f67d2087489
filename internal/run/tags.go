package run

// Tag keys set on every role and instance profile of a run, at creation.
// Sweep and teardown recognise a run by them.
const (
	TagNamespace  = "buildrole:"
	TagManaged    = TagNamespace + "managed"
	TagRunID      = TagNamespace + "run-id"
	TagRepository = TagNamespace + "repository"
	TagRun        = TagNamespace + "run"
	TagPR         = TagNamespace + "pr"
	TagWorkflow   = TagNamespace + "workflow"
	TagExpiresAt  = TagNamespace + "expires-at"
)

// TagManagedValue is TagManaged's value on every resource of a run.
const TagManagedValue = "true"

// Tag is one IAM tag.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}
