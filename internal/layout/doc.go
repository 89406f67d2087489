// Package layout holds no code: its test keeps the repository's package
// structure as docs/ARCHITECTURE.md describes it (which package may import
// which, no AWS SDK in the pure packages, no hand-written package above
// 2,500 lines, a doc comment on every package).
package layout
