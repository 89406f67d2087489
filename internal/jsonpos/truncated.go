package jsonpos

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// Truncated reports whether data ends inside its first JSON value (or
// holds none): encoding/json's decoder says so with io.ErrUnexpectedEOF,
// its typed answer, where Unmarshal's message is all there is.
func Truncated(data []byte) bool {
	var v any
	err := json.NewDecoder(bytes.NewReader(data)).Decode(&v)
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}
