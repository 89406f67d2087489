// Package provision makes the IAM effects of a run: Up creates a plan's
// roles and instance profile with an undo journal and rollback, Down
// deletes a state's resources idempotently and only when it proves they
// are the run's, and Sweep removes what killed runners left behind.
//
// It calls IAM through the narrow interfaces it declares (UpAPI, DownAPI,
// SweepAPI, ProfileAPI): the calls it makes and no others. Planning, the
// state and the explanation of a denial are not its job (planner, run,
// accountsetup): it must not depend on the CLI, the runner (ghaction),
// STS or config.
package provision
