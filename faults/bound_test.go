package faults_test

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/phpsession/phpsession"
)

// bound is the per-call bound the suite configures (Config.RedisTimeout):
// calls fail within it when Redis does not answer.
const bound = 500 * time.Millisecond

// withBound sets the Manager's bound on calls to Redis.
func withBound(cfg *phpsession.Config) { cfg.RedisTimeout = bound }

func isOutcomeUnknown(err error) bool { return errors.Is(err, phpsession.ErrOutcomeUnknown) }

// knownKinds are the errors a call may return under a fault.
func knownKinds() []error {
	return []error{phpsession.ErrOutcomeUnknown, phpsession.ErrUnavailable, context.Canceled, context.DeadlineExceeded,
		phpsession.ErrLockTimeout, phpsession.ErrLockLost, phpsession.ErrNotFound}
}

// knownFailures maps a fault to the library defect that still makes it
// fail. Set PHPSESSION_FAULTS_KNOWN=run to run them anyway.
var knownFailures = map[string]string{}

// knownFailure names the defect that still makes fault name fail, or "".
func knownFailure(name string) string {
	if os.Getenv("PHPSESSION_FAULTS_KNOWN") == "run" {
		return ""
	}
	return knownFailures[name]
}

// shortDeadlines makes a quarter of the calls use deadlines that often end
// mid-call, checking that a plain context error means "not applied".
const shortDeadlines = true
