// Package safefile reads files that come from users (templates, state
// files, policies) without trusting them: regular files only, a size cap
// checked before and while reading. It must not depend on any other
// buildrole package.
package safefile

import (
	"fmt"
	"io"
	"io/fs"
	"os"
)

// Read reads a regular file of at most limit bytes. FIFOs, devices
// and sockets are refused before they are opened for reading (a FIFO would
// block, a device never end); a symlink is followed to what it names and
// judged by that.
func Read(path string, limit int64) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := Regular(path, fi); err != nil {
		return nil, err
	}
	if fi.Size() > limit {
		return nil, fmt.Errorf("%s is %d bytes; at most %d are read", path, fi.Size(), limit)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// The file may grow between Stat and Read.
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is more than %d bytes", path, limit)
	}
	return b, nil
}

// Regular refuses anything but a regular file, naming what it is.
func Regular(path string, fi fs.FileInfo) error {
	if fi.Mode().IsRegular() {
		return nil
	}
	return fmt.Errorf("%s is %s, not a regular file", path, fileKind(fi.Mode()))
}

func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeDevice != 0, m&fs.ModeCharDevice != 0:
		return "a device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "not a regular file"
}

// Nesting reports whether b nests brackets ({, [, () at most limit deep,
// and otherwise the line where it first goes deeper. Brackets inside
// strings count too, which can only overstate the depth, so a document
// that passes cannot make a recursive parser recurse deeper.
func Nesting(b []byte, limit int) (line int, ok bool) {
	depth, line := 0, 1
	for _, c := range b {
		switch c {
		case '\n':
			line++
		case '{', '[', '(':
			depth++
			if depth > limit {
				return line, false
			}
		case '}', ']', ')':
			depth = max(depth-1, 0)
		}
	}
	return line, true
}
