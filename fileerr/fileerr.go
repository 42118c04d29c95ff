// Package fileerr holds the one error that hpcalc's readers of files and arguments
// (csvdata, policyfile) return for bad input: every problem found, each placed at a line
// and column of what the user wrote, with the field and the rule it breaks.
//
// fileerr imports calc only (for calc.ErrInvalid); it must never import store, api, cmd
// or any reader.
package fileerr

import (
	"fmt"
	"strings"

	"github.com/hpcalc/hpcalc/calc"
)

// Problem is one broken rule at one position. Line and Column are 1-based; Column is 0
// for a problem with a whole line or row (or when the parser gives no column), Line 0 for
// a problem with no single position (a missing field, an empty document).
type Problem struct {
	Line, Column int
	Field        string
	Rule         string
	// Code and Args are the rule as calc.FieldError has it (calc.RuleCodes), when calc's
	// check found it, for whoever writes the rule in another language; empty for the
	// reader's own rules (syntax, unknown fields), which are in English only.
	Code string
	Args []any
}

// Error lists the problems found in one file or argument, named by File as the user
// wrote it ("persons.csv", "--sweep"). errors.Is(err, calc.ErrInvalid) holds.
type Error struct {
	File     string
	Problems []Problem
	// Truncated reports that reading stopped after the problems listed: there may be more.
	Truncated bool
}

// Error writes one problem a line, as FILE:LINE:COLUMN: FIELD: RULE, leaving out what is
// not known.
func (e *Error) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.File)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d", p.Line)
			if p.Column > 0 {
				fmt.Fprintf(&b, ":%d", p.Column)
			}
		}
		if p.Field != "" {
			b.WriteString(": " + p.Field)
		}
		b.WriteString(": " + p.Rule)
	}
	if e.Truncated {
		fmt.Fprintf(&b, "\n%s: stopped reading after %d problems", e.File, len(e.Problems))
	}
	return b.String()
}

// Is makes errors.Is(err, calc.ErrInvalid) true.
func (e *Error) Is(target error) bool { return target == calc.ErrInvalid }
