package awsfacts

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/agext/levenshtein"
)

// NewRegionsVariable names the environment variable that admits region
// codes newer than the AWS SDK this buildrole was built with
// (comma-separated); the CLI reads it, awsfacts does not.
const NewRegionsVariable = "BUILDROLE_NEW_REGIONS"

// KnownRegion reports whether the pinned AWS SDK lists region (opt-in
// regions included; the "-global" pseudo regions are not regions).
func KnownRegion(region string) bool {
	part, ok := PartitionForRegion(region)
	if !ok {
		return false
	}
	i := sort.SearchStrings(sdkRegions[part], region)
	return i < len(sdkRegions[part]) && sdkRegions[part][i] == region
}

// RegionError is a region code refused: malformed, or so near a known
// region that it is most likely a typo of it.
type RegionError struct {
	Region  string
	Nearest string // "" when nothing is near
	// Malformed: not even the shape of a region code.
	Malformed bool
}

func (e *RegionError) Error() string {
	var b strings.Builder
	if e.Malformed {
		fmt.Fprintf(&b, "%q is not an AWS region code like us-east-1", e.Region)
	} else {
		part, _ := PartitionForRegion(e.Region)
		fmt.Fprintf(&b, "%q is not a region of partition %s", e.Region, part)
	}
	if e.Nearest != "" {
		fmt.Fprintf(&b, "; did you mean %s?", e.Nearest)
	}
	if !e.Malformed {
		fmt.Fprintf(&b, " (a region newer than this buildrole: set %s=%s)", NewRegionsVariable, e.Region)
	}
	return b.String()
}

// CheckRegion judges a region code against the pinned SDK's partitions.
// Known codes, and those in admitted (NewRegionsVariable's list), pass. A
// malformed code, or one that is a small edit away from a known region
// and not the next number of a known group ("us-est-1", "eu-west-9"), is
// a *RegionError naming the nearest region. Any other well-formed code is
// taken as a region newer than the SDK: it passes with a warning.
func CheckRegion(region string, admitted []string) (warning string, err error) {
	nearest, dist := NearestRegion(region)
	if !IsRegion(region) {
		if dist > 3 {
			nearest = ""
		}
		return "", &RegionError{Region: region, Nearest: nearest, Malformed: true}
	}
	if KnownRegion(region) {
		return "", nil
	}
	for _, a := range admitted {
		if strings.TrimSpace(a) == region {
			return "", nil
		}
	}
	if dist <= 2 && !nextInGroup(region) {
		return "", &RegionError{Region: region, Nearest: nearest}
	}
	part, _ := PartitionForRegion(region)
	return fmt.Sprintf("region %q is not among the %d regions of partition %s that this buildrole's AWS SDK knows; going on as a region newer than it", region, len(sdkRegions[part]), part), nil
}

// NearestRegion is the known region at the least edit distance from s
// (the first in order among equals), and that distance.
func NearestRegion(s string) (string, int) {
	// Case and underscores are the commonest slips; they still count one.
	norm := strings.ReplaceAll(strings.ToLower(s), "_", "-")
	slip := 0
	if norm != s {
		slip = 1
	}
	best, bestDist := "", -1
	for _, part := range sortedPartitions() {
		for _, r := range sdkRegions[part] {
			if d := levenshtein.Distance(norm, r, nil) + slip; bestDist < 0 || d < bestDist {
				best, bestDist = r, d
			}
		}
	}
	return best, bestDist
}

// nextInGroup: region is the next number after the highest known one of
// its group ("ap-southeast-8" after "ap-southeast-7"), as AWS numbers a new
// region.
func nextInGroup(region string) bool {
	i := strings.LastIndexByte(region, '-')
	group, n := region[:i+1], region[i+1:]
	num, err := strconv.Atoi(n)
	if err != nil || strings.HasPrefix(n, "0") {
		return false
	}
	highest := 0
	part, _ := PartitionForRegion(region)
	for _, r := range sdkRegions[part] {
		if rest, ok := strings.CutPrefix(r, group); ok {
			if k, err := strconv.Atoi(rest); err == nil && k > highest {
				highest = k
			}
		}
	}
	return highest > 0 && num == highest+1
}

func sortedPartitions() []string {
	out := make([]string, 0, len(sdkRegions))
	for p := range sdkRegions {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}
