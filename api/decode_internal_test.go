package api

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// TestSplitObjectAgreesWithDecoder checks the fast path of decodeObject against the
// token-by-token decoder: the same members, raw values and duplicate errors for every
// valid object, and no answer at all (the slow path then explains) for anything else.
func TestSplitObjectAgreesWithDecoder(t *testing.T) {
	bodies := []string{
		`{}`, ` { } `, `{"a":1}`, "\t{\n\"a\" :\r\"x\" , \"b\":[1,{\"c\":\"}]\\\"\"}],\"d\":null}\n",
		`{"a":1,"a":2}`, `{"a\u0062":true,"ab":false}`, `{"\"k\"":"v\\","e":-1.5e+3}`,
		`{"s":"\u00e9\ud83d\ude00","o":{"x":{"y":[[],{}]}}}`,
		// not valid, or not one object: left to the slow path
		``, ` `, `[]`, `"s"`, `1`, `null`, `{`, `{"a":}`, `{"a":1,}`, `{} {}`, `{"a":1}x`, `{'a':1}`,
		"{\"a\":\"\xff\"}", "{\"\xff\":1}",
	}
	r := rand.New(rand.NewPCG(3, 5))
	for range 3000 {
		bodies = append(bodies, randomObject(r, 0))
	}
	for _, body := range bodies {
		fastObj, fastF, ok := splitObject([]byte(body))
		slowObj, slowF, err := decodeObjectSlow([]byte(body))
		if !ok {
			if err == nil && json.Valid([]byte(body)) {
				t.Errorf("splitObject refused %q, which the decoder reads", body)
			}
			continue
		}
		if err != nil {
			t.Errorf("splitObject read %q, which the decoder refuses: %v", body, err)
			continue
		}
		if !reflect.DeepEqual(fastObj, slowObj) || !reflect.DeepEqual(fastF.errs, slowF.errs) {
			t.Errorf("%q:\n fast %q %v\n slow %q %v", body, fastObj, fastF.errs, slowObj, slowF.errs)
		}
	}
}

// randomObject writes a JSON object with random members, escapes and whitespace.
func randomObject(r *rand.Rand, depth int) string {
	ws := func() string { return []string{"", "", " ", "\n\t", "\r\n "}[r.IntN(5)] }
	keys := []string{`"a"`, `"b"`, `"a"`, `"\u0061"`, `"q\"uote"`, `"back\\slash"`, `"{}"`, `"é"`}
	var b strings.Builder
	b.WriteString(ws() + "{" + ws())
	for i := range r.IntN(5) {
		if i > 0 {
			b.WriteString("," + ws())
		}
		b.WriteString(keys[r.IntN(len(keys))] + ws() + ":" + ws())
		b.WriteString(randomValue(r, depth) + ws())
	}
	b.WriteString("}" + ws())
	return b.String()
}

func randomValue(r *rand.Rand, depth int) string {
	n := 7
	if depth < 3 {
		n = 9
	}
	switch r.IntN(n) {
	case 0:
		return "null"
	case 1:
		return []string{"true", "false"}[r.IntN(2)]
	case 2:
		return []string{"0", "-1", "12.50", "1e9", "-0.5E-3"}[r.IntN(5)]
	case 3, 4, 5, 6:
		return []string{`""`, `"x"`, `"]}"`, `"\\"`, `"\""`, `"\u2028"`, `"五"`, `"a\nb"`}[r.IntN(8)]
	case 7:
		var b strings.Builder
		b.WriteString("[")
		for i := range r.IntN(4) {
			if i > 0 {
				b.WriteString(" ,")
			}
			b.WriteString(randomValue(r, depth+1))
		}
		b.WriteString("]")
		return b.String()
	}
	return randomObject(r, depth+1)
}

// TestUTF8Fault names the first string, member name or value, that is not UTF-8.
func TestUTF8Fault(t *testing.T) {
	for _, tt := range []struct {
		body, path string
		bad        bool
	}{
		{`{"a":"é","b":[1,"x"]}`, "", false},
		{"{\"a\":\"\xff\"}", "a", true},
		{"[{\"p\":\"x\",\"n\":\"\xe4\xb9\"}]", "[0].n", true},
		{"{\"o\":{\"l\":[\"ok\",{\"k\":1},\"\xfe\"]}}", "o.l[2]", true},
		{"{\"a\":{\"b\":1},\"c\":[\"d\"],\"e\":\"\xc0\"}", "e", true},
		{"{\"\xff\":1}", "\ufffd", true}, // a member name: as the decoder reads it
		{"[1,2,\"\xff\"]", "[2]", true},
		{"\"\xff\"", "body", true},
	} {
		path, bad := utf8Fault([]byte(tt.body))
		if path != tt.path || bad != tt.bad {
			t.Errorf("utf8Fault(%q) = %q, %v; want %q, %v", tt.body, path, bad, tt.path, tt.bad)
		}
	}
}

// TestTruncatedBody checks that a body cut off part-way says so, through both decoders
// every JSON route uses, and that only a body with nothing in it is called empty.
func TestTruncatedBody(t *testing.T) {
	tests := []struct {
		body, want string
	}{
		{``, "the body is empty; it must be JSON"},
		{" \n", "the body is empty; it must be JSON"},
		{`{`, truncated},
		{`{"claim_id": "C1", "tot`, truncated},
		{`{"claim_id": "C1", "total"`, truncated},
		{`{"claim_id": "C1", "total":`, truncated},
		{`{"claim_id": "C1", "total": "12`, truncated},
		{`{"claim_id": "C1",`, truncated},
		{`{"claim_id": "C1"`, truncated},
		{`[{"a": 1}, `, truncated},
	}
	detail := func(err error) string {
		t.Helper()
		var ae *apiError
		if !errors.As(err, &ae) {
			t.Fatalf("got %v, want an API error", err)
		}
		return ae.detail
	}
	for _, tt := range tests {
		object := !strings.HasPrefix(tt.body, "[")
		if _, _, err := decodeObject([]byte(tt.body)); object {
			if got := detail(err); got != tt.want {
				t.Errorf("decodeObject(%q): %q, want %q", tt.body, got, tt.want)
			}
		}
		var v any
		if got := detail(decodeStrict([]byte(tt.body), &v, "")); got != tt.want {
			t.Errorf("decodeStrict(%q): %q, want %q", tt.body, got, tt.want)
		}
		var s struct {
			ClaimID string `json:"claim_id"`
			Total   string `json:"total"`
		}
		if object {
			if got := detail(decodeStrict([]byte(tt.body), &s, "")); got != tt.want {
				t.Errorf("decodeStrict(%q) into a struct: %q, want %q", tt.body, got, tt.want)
			}
		}
	}
}
