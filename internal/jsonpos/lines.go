package jsonpos

import (
	"slices"
	"unicode/utf8"
)

// Lines turns the byte offsets Parse reports into lines and columns.
type Lines struct {
	data   []byte
	starts []int // byte offsets at which lines start
}

// NewLines indexes the lines of data.
func NewLines(data []byte) Lines {
	starts := []int{0}
	for i, b := range data {
		if b == '\n' {
			starts = append(starts, i+1)
		}
	}
	return Lines{data: data, starts: starts}
}

// Pos converts a byte offset to a 1-based line and a column counted in
// characters; offsets outside data are clamped.
func (ls Lines) Pos(off int) (line, col int) {
	off = min(max(off, 0), len(ls.data))
	i, found := slices.BinarySearch(ls.starts, off)
	if !found {
		i--
	}
	return i + 1, utf8.RuneCount(ls.data[ls.starts[i]:off]) + 1
}
