package store_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/hpcalc/hpcalc/store"
	"github.com/hpcalc/hpcalc/store/storetest"
	"github.com/lib/pq"
)

// TestUnavailableClassification: the store wraps the errors of a database that cannot
// serve now in ErrUnavailable, keeping the driver's error in the chain, and leaves every
// other error as it is.
func TestUnavailableClassification(t *testing.T) {
	s, fault := storetest.Faulty(t)
	ctx := context.Background()
	for _, tt := range []struct {
		name        string
		err         error
		unavailable bool
	}{
		{"StartingUp57P03", &pq.Error{Code: "57P03", Message: "the database system is starting up"}, true},
		{"AdminShutdown57P01", &pq.Error{Code: "57P01", Message: "terminating connection due to administrator command"}, true},
		{"CrashShutdown57P02", &pq.Error{Code: "57P02", Message: "terminating connection due to crash of another server process"}, true},
		{"ConnectionFailure08006", &pq.Error{Code: "08006", Message: "connection failure"}, true},
		{"CannotConnect08001", &pq.Error{Code: "08001", Message: "sqlclient unable to establish sqlconnection"}, true},
		{"TooManyClients53300", &pq.Error{Code: "53300", Message: "sorry, too many clients already"}, true},
		{"Refused", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, true},
		{"Reset", fmt.Errorf("read tcp: %w", syscall.ECONNRESET), true},
		{"CutShort", io.ErrUnexpectedEOF, true},
		{"QueryCanceled57014", &pq.Error{Code: "57014", Message: "canceling statement due to user request"}, false},
		{"UniqueViolation23505", &pq.Error{Code: "23505", Message: "duplicate key value"}, false},
		{"UndefinedTable42P01", &pq.Error{Code: "42P01", Message: "relation does not exist"}, false},
		{"Other", errors.New("disk I/O error"), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fault.Set(tt.err)
			defer fault.Set(nil)
			_, err := s.Person(ctx, "P00001")
			if got := errors.Is(err, store.ErrUnavailable); got != tt.unavailable {
				t.Errorf("errors.Is(%v, ErrUnavailable) = %v, want %v", err, got, tt.unavailable)
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("%v lost the driver's error %v", err, tt.err)
			}
			if errors.Is(err, store.ErrNotFound) {
				t.Errorf("%v is ErrNotFound", err)
			}
		})
	}
	if _, err := s.Person(ctx, "P00001"); !errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrUnavailable) {
		t.Errorf("a working database: %v, want ErrNotFound only", err)
	}
	s.Close()
	if _, err := s.Person(ctx, "P00001"); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("a closed store: %v, want ErrUnavailable", err)
	}
}
