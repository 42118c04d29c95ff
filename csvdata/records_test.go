package csvdata_test

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hpcalc/hpcalc/csvdata"
)

// guardedReader reads r and fails the test if it is read once closed is set.
type guardedReader struct {
	t      *testing.T
	r      io.Reader
	closed atomic.Bool
	err    error // returned instead of io.EOF at the end of r, if not nil
}

func (g *guardedReader) Read(p []byte) (int, error) {
	if g.closed.Load() {
		g.t.Errorf("read after the reader returned")
	}
	n, err := g.r.Read(p)
	if err == io.EOF && g.err != nil {
		err = g.err
	}
	return n, err
}

// TestReadingEnds: however reading a file ends (at its end, at too many problems, at a
// broken row, at an error of the reader), the file is not read after the read returns
// and nothing is left running.
func TestReadingEnds(t *testing.T) {
	checks := claimChecks(t)
	var many strings.Builder
	many.WriteString(claimHeader)
	for i := range 5000 {
		fmt.Fprintf(&many, "C%d,P00001,TWN01,township,inpatient,2018-01-02,2018-01-05,bad,1.00\n", i)
	}
	var good strings.Builder
	good.WriteString(claimHeader)
	for i := range 5000 {
		fmt.Fprintf(&good, "C%05d,P00001,TWN01,township,inpatient,2018-01-02,2018-01-05,1200.00,1000.00\n", i)
	}
	broken := good.String() + "C9,P00001\n" + good.String()[len(claimHeader):]
	ioErr := errors.New("disk on fire")
	tests := []struct {
		name  string
		text  string
		err   error
		check func(t *testing.T, err error)
	}{
		{"End", good.String(), nil, func(t *testing.T, err error) {
			if err != nil {
				t.Error(err)
			}
		}},
		{"TooManyProblems", many.String(), nil, func(t *testing.T, err error) {
			var e *csvdata.Error
			if !errors.As(err, &e) || !e.Truncated {
				t.Errorf("got %v, want a truncated *csvdata.Error", err)
			}
		}},
		{"BrokenRow", broken, nil, func(t *testing.T, err error) {
			wantProblems(t, err, "claims.csv", want{5002, 0, "", "row has 2 fields but the header has 9 (a value with a comma in it must be in double quotes)"})
		}},
		{"ReaderError", good.String(), ioErr, func(t *testing.T, err error) {
			if !errors.Is(err, ioErr) || !strings.HasPrefix(err.Error(), "read claims.csv: ") {
				t.Errorf("got %v, want read claims.csv: %v", err, ioErr)
			}
		}},
	}
	before := runtime.NumGoroutine()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, persons := range []bool{false, true} {
				c := checks
				if persons {
					c.Persons, c.PersonIndex = nil, personIndexOf(t, checks.Persons)
				}
				g := &guardedReader{t: t, r: strings.NewReader(tt.text), err: tt.err}
				err := csvdata.ScanClaims("claims.csv", g, c, func(*csvdata.ClaimRow) {})
				g.closed.Store(true)
				tt.check(t, err)
			}
		})
	}
	// The reading goroutines end as their reads return; give the scheduler a moment.
	for i := 0; runtime.NumGoroutine() > before && i < 100; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines running after the reads, %d before", n, before)
	}
}
