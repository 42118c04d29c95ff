package csvdata

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// readAll reads data's records after its header through a table, as the readers do;
// header is false when the header does not read.
func readAll(data []byte) (recs [][]string, lines []int, header bool, err error) {
	t, err := newTable("f.csv", bytes.NewReader(data), nil, nil)
	if err != nil {
		return nil, nil, false, err
	}
	defer t.close()
	for {
		ok, err := t.next()
		if err != nil || !ok {
			return recs, lines, true, err
		}
		recs = append(recs, append([]string(nil), t.rec...))
		lines = append(lines, t.line())
	}
}

// readAllCSV reads data's records after its header with encoding/csv alone, as the
// readers did before records split lines themselves.
func readAllCSV(data []byte) (recs [][]string, lines []int, err error) {
	br := bufio.NewReader(bytes.NewReader(data))
	if bom, _ := br.Peek(3); string(bom) == "\ufeff" {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, nil, err
	}
	t := &table{file: "f.csv", header: header}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return recs, lines, nil
		}
		if err != nil {
			return recs, lines, t.readError(err, len(rec))
		}
		line, _ := cr.FieldPos(0)
		recs = append(recs, append([]string(nil), rec...))
		lines = append(lines, line)
	}
}

// sameRecords fails unless data reads the same through a table as through encoding/csv.
func sameRecords(t *testing.T, data []byte) {
	t.Helper()
	recs, lines, header, err := readAll(data)
	if !header {
		return // newTable's problem with the header, which encoding/csv reads as before
	}
	wantRecs, wantLines, wantErr := readAllCSV(data)
	if fmt.Sprint(err) != fmt.Sprint(wantErr) || !reflect.DeepEqual(recs, wantRecs) || !reflect.DeepEqual(lines, wantLines) {
		t.Fatalf("input %q\nread  %q on lines %v, error %v\nwant  %q on lines %v, error %v", data, recs, lines, err, wantRecs, wantLines, wantErr)
	}
}

// recordsInput makes a CSV file of width columns for sameRecords: mostly plain rows, with
// now and then what encoding/csv treats specially.
func recordsInput(rng *rand.Rand, width int) []byte {
	var b strings.Builder
	if rng.IntN(4) == 0 {
		b.WriteString("\ufeff")
	}
	for range rng.IntN(3) {
		b.WriteString("\n")
	}
	for i := range width {
		if i > 0 {
			b.WriteByte(',')
		}
		if rng.IntN(10) == 0 {
			fmt.Fprintf(&b, `"h%d"`, i)
		} else {
			fmt.Fprintf(&b, "h%d", i)
		}
	}
	b.WriteString("\n")
	cells := []string{"a", "", " b ", "12.50", "x\ry", "张三", `"q"`, `"a,b"`, "\"two\nlines\"", `"say ""hi"""`, `bare"quote`, `"open`, "\t"}
	rows := rng.IntN(40)
	for r := range rows {
		switch rng.IntN(12) {
		case 0:
			b.WriteString("\n") // a blank line
			continue
		case 1:
			b.WriteString("\r\n")
			continue
		}
		n := width
		if rng.IntN(25) == 0 {
			n += rng.IntN(3) - 1 // a ragged row
		}
		quoted := rng.IntN(8) == 0
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			switch k := rng.IntN(20); {
			case k == 0 && quoted:
				b.WriteString(cells[6+rng.IntN(len(cells)-6)])
			case k == 1 && rng.IntN(20) == 0:
				b.WriteString(strings.Repeat("L", 70_000)) // longer than the reader's buffer
			default:
				b.WriteString(cells[rng.IntN(6)])
			}
		}
		switch {
		case r == rows-1 && rng.IntN(3) == 0: // no line end at the end of the file
		case r == rows-1 && rng.IntN(3) == 0:
			b.WriteString("\r") // a lone \r at the end of the file
		case rng.IntN(3) == 0:
			b.WriteString("\r\n")
		default:
			b.WriteString("\n")
		}
	}
	return []byte(b.String())
}

// TestRecordsLikeEncodingCSV: records read every file as encoding/csv reads it: the same
// fields, each record's line, and the same error at the same line.
func TestRecordsLikeEncodingCSV(t *testing.T) {
	for _, s := range []string{
		"a,b\n1,2\n", "a,b\n1,2", "a,b\r\n1,2\r\n\r\n3,4", "a,b\n1,2\r", "a,b\n\r", "a,b\n1,2\r\r\n3,4\n",
		"a,b\n1\n", "a,b\n1,2,3\n", "a,b\n\n\n1,2\n\n", "a\n\n1\n \n", "a,b\n1,\"2\"\n3,4\n", "a,b\n1,2\n\"3\n3\",4\n5,6\n",
		"a,b\n1,2\n3,4\"\n5,6\n", "a,b\n1,2\n\"3,4\n", "\"a\nb\",c\n1,2\n", "\ufeff\"a\",b\n1,2\n", "a,b\n1,2\nx\ry,z\n",
		"a,b\n" + strings.Repeat("x", 70_000) + ",2\n3,4\n", "a,b\n" + strings.Repeat("y", 70_000) + "\"z,2\n",
	} {
		sameRecords(t, []byte(s))
	}
	rng := rand.New(rand.NewPCG(2018, 12))
	for range 3000 {
		sameRecords(t, recordsInput(rng, 1+rng.IntN(5)))
	}
	// Enough rows for several batches, with a quoted row late in the file.
	var b strings.Builder
	b.WriteString("a,b,c\n")
	for i := range 3 * batchFields / 3 {
		fmt.Fprintf(&b, "%d,x,y\n", i)
	}
	b.WriteString("\"q\",r,s\n7,8,9\n")
	sameRecords(t, []byte(b.String()))
}

// FuzzRecords checks that records read any file as encoding/csv reads it.
func FuzzRecords(f *testing.F) {
	rng := rand.New(rand.NewPCG(1, 1))
	for range 20 {
		f.Add(recordsInput(rng, 1+rng.IntN(4)))
	}
	f.Fuzz(func(t *testing.T, data []byte) { sameRecords(t, data) })
}

// TestGetTrims: a cell is read as strings.TrimSpace gives it, whatever spaces it has.
func TestGetTrims(t *testing.T) {
	for _, s := range []string{"", " ", "a", " a", "a ", "\ta\r", "\u00a0a", "a\u00a0", "\u0085a", "a\u3000", "é", "aé", "éa", "a b"} {
		tb := &table{rec: []string{s}, field: []int{0}}
		if got := tb.get(0); got != strings.TrimSpace(s) {
			t.Errorf("get(%q) = %q, want %q", s, got, strings.TrimSpace(s))
		}
	}
}
