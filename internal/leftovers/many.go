package leftovers

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
)

// Teardown is one run's cleanup in every build region.
type Teardown struct {
	Report Report
	// Unlisted are the regions whose leftovers could not be listed: what
	// is there is unknown.
	Unlisted map[string]error
}

// Remaining counts what is or may still be there.
func (t *Teardown) Remaining() int { return len(t.Report.Remaining()) + len(t.Unlisted) }

// CleanRegions cleans the run's leftovers in every region at once, with
// one client. What it is refused is reported, never tried again with
// other credentials: a refusal of the build role is evidence that the
// resource is not its run's (a tag it wrote on another's).
func CleanRegions(ctx context.Context, regions []string, client func(region string) API, o Options) *Teardown {
	t := &Teardown{Unlisted: map[string]error{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, region := range regions {
		wg.Go(func() {
			rep, err := Clean(ctx, client(region), region, o)
			mu.Lock()
			defer mu.Unlock()
			t.Report.Add(rep)
			if err != nil {
				t.Unlisted[region] = err
			}
		})
	}
	wg.Wait()
	slices.SortStableFunc(t.Report.Outcomes, func(a, b Outcome) int { return strings.Compare(a.Region, b.Region) })
	return t
}

// Swept is sweep's pass over one region.
type Swept struct {
	Region string            `json:"region"`
	Runs   []string          `json:"runs"`
	Report Report            `json:"report"`
	Failed map[string]string `json:"failed,omitempty"` // run id → why it could not be cleaned
	Error  string            `json:"error,omitempty"`  // the listing's
}

// SweepRegion removes the leftovers of every run in the region that
// match selects, up to concurrency runs at once.
func SweepRegion(ctx context.Context, api API, region string, match func(Run) bool, o Options, concurrency int) *Swept {
	s := &Swept{Region: region, Failed: map[string]string{}}
	runs, err := Runs(ctx, api, region, o.Path)
	if err != nil {
		s.Error = err.Error()
		return s
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(concurrency, 1))
	for _, r := range runs {
		if !match(r) {
			continue
		}
		s.Runs = append(s.Runs, r.RunID)
		ro := o
		ro.RunID = r.RunID
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			rep, err := Clean(ctx, api, region, ro)
			mu.Lock()
			defer mu.Unlock()
			s.Report.Add(rep)
			if err != nil {
				s.Failed[r.RunID] = err.Error()
			}
		})
	}
	wg.Wait()
	return s
}

// Remaining counts what is or may still be there.
func (s *Swept) Remaining() int {
	n := len(s.Report.Remaining()) + len(s.Failed)
	if s.Error != "" {
		n++
	}
	return n
}

// Summary says in one line what the pass did.
func (s *Swept) Summary() string {
	if s.Error != "" {
		return fmt.Sprintf("EC2 in %s: could not list buildrole's resources: %s", s.Region, s.Error)
	}
	would := 0
	for _, o := range s.Report.Outcomes {
		if o.Status == StatusWouldRemove {
			would++
		}
	}
	return fmt.Sprintf("EC2 in %s: %d leftovers of %d runs removed, %d would be removed (dry run), %d remaining", s.Region, s.Report.Removed(), len(s.Runs), would, s.Remaining())
}

// Finish names what remains and how to finish the job, one per line.
func (s *Swept) Finish() string {
	var lines []string
	for _, o := range s.Report.Remaining() {
		lines = append(lines, fmt.Sprintf("%s %s (%s): %s", o.Kind, o.ID, o.Status, o.Command()))
	}
	for _, id := range slices.Sorted(maps.Keys(s.Failed)) {
		lines = append(lines, fmt.Sprintf("run %s: %s; run the same sweep again", id, s.Failed[id]))
	}
	return strings.Join(lines, "\n")
}

// Lines renders outcomes for a log, one a line.
func (r *Report) Lines() []string {
	var out []string
	for _, o := range r.Outcomes {
		name := o.Region + " " + o.ID
		if o.Name != "" {
			name += " (" + o.Name + ")"
		}
		line := fmt.Sprintf("%-18s %-60s %s", "ec2 "+o.Kind, name, o.Status)
		if o.Detail != "" {
			line += ": " + o.Detail
		}
		out = append(out, line)
	}
	return out
}
