// Command buildrole creates a least-privilege IAM role for one Packer build
// in GitHub Actions and deletes it when the job ends. main only wires the
// process (arguments, environment, signals) into cli.Main.
package main
