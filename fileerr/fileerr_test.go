package fileerr_test

import (
	"errors"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/fileerr"
)

func TestError(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  fileerr.Error
		want string
	}{
		{"Full", fileerr.Error{File: "a.csv", Problems: []fileerr.Problem{{Line: 3, Column: 2, Field: "total", Rule: "must be money"}}},
			"a.csv:3:2: total: must be money"},
		{"NoColumn", fileerr.Error{File: "p.yaml", Problems: []fileerr.Problem{{Line: 4, Rule: "bad YAML"}}}, "p.yaml:4: bad YAML"},
		{"NoPosition", fileerr.Error{File: "--sweep", Problems: []fileerr.Problem{{Field: "basic.rate", Rule: "unknown parameter"}}},
			"--sweep: basic.rate: unknown parameter"},
		{"Truncated", fileerr.Error{File: "c.csv", Truncated: true, Problems: []fileerr.Problem{{Line: 1, Rule: "x"}, {Line: 2, Rule: "y"}}},
			"c.csv:1: x\nc.csv:2: y\nc.csv: stopped reading after 2 problems"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if !errors.Is(&tt.err, calc.ErrInvalid) {
				t.Error("not calc.ErrInvalid")
			}
		})
	}
}
