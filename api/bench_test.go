package api_test

import (
	"net/http"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/store/storetest"
)

// BenchmarkQuote measures POST /v1/quotes through the handler chain on SQLite, without
// the network: what the API and the store cost per quote.
func BenchmarkQuote(b *testing.B) {
	v := newEnv(b, storetest.SQLite(b))
	body := mustJSON(b, claimBody(testClaim("BQ", "P00003", ownClinic, 20000*calc.Yuan)))
	for b.Loop() {
		rec := v.do(http.MethodPost, "/v1/quotes", asClinic, "application/json", body)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code, rec.Body)
		}
		v.logs.Reset()
	}
}
