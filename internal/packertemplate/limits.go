package packertemplate

import (
	"fmt"

	"github.com/buildrole/buildrole/internal/safefile"
)

// Limits on what Load reads. Real templates are a few kilobytes; these stop
// a template that is a device, a FIFO or a pathological file from taking
// the machine down: parsing costs about 70 bytes of memory per byte of
// HCL, and the parsers recurse once per level of nesting.
const (
	// MaxFileBytes bounds one template or variable file.
	MaxFileBytes = 512 << 10
	// MaxTotalBytes bounds all files of a template directory together.
	MaxTotalBytes = 768 << 10
	// MaxFiles bounds the files read from a template directory.
	MaxFiles = 256
	// MaxDepth bounds the nesting of blocks, objects, lists and
	// parentheses.
	MaxDepth = 64
)

// reader reads a template's files within the limits.
type reader struct{ total int64 }

func (r *reader) read(name string) ([]byte, error) {
	b, err := safefile.Read(name, MaxFileBytes)
	if err != nil {
		return nil, fmt.Errorf("read template: %w", err)
	}
	r.total += int64(len(b))
	if r.total > MaxTotalBytes {
		return nil, fmt.Errorf("read template: %s: the template's files together pass %d bytes, the most buildrole reads", name, MaxTotalBytes)
	}
	if err := checkDepth(name, b); err != nil {
		return nil, err
	}
	return b, nil
}

// checkDepth refuses nesting deeper than MaxDepth before a parser recurses
// into it.
func checkDepth(name string, b []byte) error {
	if line, ok := safefile.Nesting(b, MaxDepth); !ok {
		return &Error{Pos: Pos{File: name, Line: line, Col: 1}, Msg: fmt.Sprintf("nested more than %d levels deep; buildrole does not read templates nested this deep", MaxDepth)}
	}
	return nil
}
