package csm

import "strings"

// Merge joins the calls two observers saw of one command: the wire
// (primary) and client-side monitoring (secondary). A client on the AWS SDK
// for Go v1 behind the proxy is seen by both, so each call is taken from
// the observer that counted more of it (the wire on a tie); a call only
// one saw (a v1 client sending to an endpoint exec does not intercept) is
// kept. The order is the primary's, then the secondary's new calls.
func Merge(primary, secondary []Call) []Call {
	at := map[string]int{}
	out := make([]Call, 0, len(primary)+len(secondary))
	for _, c := range primary {
		at[callKey(c)] = len(out)
		out = append(out, c)
	}
	for _, c := range secondary {
		k := callKey(c)
		i, ok := at[k]
		switch {
		case !ok:
			at[k] = len(out)
			out = append(out, c)
		case c.Count > out[i].Count:
			out[i] = c
		}
	}
	return out
}

// MergeStats adds what two observers saw besides their calls.
func MergeStats(a, b Stats) Stats {
	return Stats{Events: a.Events + b.Events, Ignored: a.Ignored + b.Ignored, Overflow: a.Overflow + b.Overflow, Reason: firstOf(a.Reason, b.Reason)}
}

func callKey(c Call) string { return strings.ToLower(c.Service + ":" + c.API) }
