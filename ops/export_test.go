package ops

import (
	"context"

	"github.com/hpcalc/hpcalc/batch"
	"github.com/hpcalc/hpcalc/calc"
)

// SetChunkClaims sets how many claims a stored read hands over at once, for tests that
// cross many chunk boundaries, and returns what puts it back.
func SetChunkClaims(n int) (restore func()) {
	old := chunkClaims
	chunkClaims = n
	return func() { chunkClaims = old }
}

// AuditUnder is Service.Audit under one version that need not be published.
func AuditUnder(s *Service, ctx context.Context, from, to calc.Date, v Versions, only *calc.Policy) (*batch.Audit, error) {
	v.only = only
	return s.Audit(ctx, from, to, v, nil)
}
