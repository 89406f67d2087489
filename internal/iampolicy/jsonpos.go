package iampolicy

import "github.com/buildrole/buildrole/internal/jsonpos"

// ParseJSON reads a policy document into values that know the byte offset
// of their first character, so that findings can name a line and column,
// within the bounds of CheckBounds. A key written twice in one object
// counts once, with its last value, as Parse reads it; the repeats are in
// the result's Duplicates. A malformed document gives encoding/json's
// error (a *json.SyntaxError carries the offset).
func ParseJSON(data []byte) (*jsonpos.Node, error) {
	if err := CheckBounds(data); err != nil {
		return nil, err
	}
	return jsonpos.Parse(data, jsonpos.Limits{MaxBytes: MaxDocumentBytes, MaxDepth: MaxNesting})
}
