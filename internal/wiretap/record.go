package wiretap

import (
	"net/http"
	"sync"
)

// Record is one attempt of an AWS call, as its response answered it.
type Record struct {
	Service string // IAM service prefix: ec2, iam, sts, s3
	API     string // the operation: RunInstances, GetObject
	Region  string // from the signing scope; "" when not a region
	Status  int    // HTTP status; 0 when no response came (upstream failed)
	Code    string // AWS's error code; "" on success
	Message string // AWS's error message (cut to maxMessage); "" on success
	Attempt int    // 1-based, from amz-sdk-request; 0 when the client does not say
	// Final is true for the last attempt of its call: a success, an error
	// the SDKs do not retry, the last allowed attempt, or the last one seen.
	Final bool
}

const (
	maxMessage = 512
	maxPending = 1024 // calls whose retryable error may yet be retried
)

// retryable codes are those the SDKs retry (throttling, transient).
var retryable = map[string]bool{
	"Throttling": true, "ThrottlingException": true, "ThrottledException": true, "RequestThrottledException": true,
	"TooManyRequestsException": true, "ProvisionedThroughputExceededException": true, "TransactionInProgressException": true,
	"RequestLimitExceeded": true, "BandwidthLimitExceeded": true, "LimitExceededException": true, "RequestThrottled": true,
	"SlowDown": true, "PriorRequestNotComplete": true, "EC2ThrottledException": true, "RequestTimeout": true,
	"RequestTimeoutException": true, "IDPCommunicationError": true, "InternalError": true, "ServiceUnavailable": true,
}

func (r Record) retryable() bool {
	return r.Status == 0 || r.Status >= 500 || r.Status == http.StatusTooManyRequests || retryable[r.Code]
}

// tracker decides which attempt ends a call: an attempt with a retryable
// error is held until the same invocation's next attempt arrives, or the
// end of the run.
type tracker struct {
	sink    func(Record)
	mu      sync.Mutex
	pending map[string]Record // by amz-sdk-invocation-id
}

func (t *tracker) add(id ident, r Record) {
	t.mu.Lock()
	prev, had := t.pending[id.invocation]
	if had {
		delete(t.pending, id.invocation)
	}
	hold := id.invocation != "" && r.retryable() && (id.max == 0 || id.attempt < id.max) && len(t.pending) < maxPending
	if hold {
		t.pending[id.invocation] = r
	}
	t.mu.Unlock()
	if had {
		t.sink(prev)
	}
	if !hold {
		r.Final = true
		t.sink(r)
	}
}

// flush ends every held call with its last attempt.
func (t *tracker) flush() {
	t.mu.Lock()
	held := t.pending
	t.pending = map[string]Record{}
	t.mu.Unlock()
	for _, r := range held {
		r.Final = true
		t.sink(r)
	}
}
