package store

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
)

func cachedFor(id string, year int) personLedger {
	return personLedger{person: calc.Person{ID: id}, ledger: calc.Ledger{Year: year}}
}

// TestReadCacheKeepsNothingStale covers what the store-level tests cannot time: a value
// read before an eviction must not be kept after it, and a cache that cannot follow
// changes must neither answer nor keep.
func TestReadCacheKeepsNothingStale(t *testing.T) {
	c := newReadCache()
	c.on.Store(true)

	gen := c.generation()
	c.evictLedger("P1", 2018) // a settlement committed while P1 was being read
	c.keepPersonLedger(gen, cachedFor("P1", 2018))
	if _, ok := c.personLedger("P1", 2018); ok {
		t.Fatal("kept a ledger read before an eviction")
	}
	c.keepProvider(gen, calc.Provider{ID: "V1"})
	if _, ok := c.provider("V1"); ok {
		t.Fatal("kept a provider read before an eviction")
	}

	gen = c.generation()
	c.keepPersonLedger(gen, cachedFor("P1", 2018))
	if _, ok := c.personLedger("P1", 2018); !ok {
		t.Fatal("did not keep a ledger read with no eviction meanwhile")
	}

	c.off()
	if _, ok := c.personLedger("P1", 2018); ok {
		t.Fatal("answered while off")
	}
	c.keepPersonLedger(c.generation(), cachedFor("P2", 2018))
	c.flushAndOn()
	if _, ok := c.personLedger("P2", 2018); ok {
		t.Fatal("kept a ledger while off")
	}
}

// TestReadCacheApply checks what each change notification evicts.
func TestReadCacheApply(t *testing.T) {
	fill := func() *readCache {
		c := newReadCache()
		c.on.Store(true)
		for _, pl := range []personLedger{cachedFor("P1", 2018), cachedFor("P1", 2019), cachedFor("P 2", 2018)} {
			c.keepPersonLedger(c.generation(), pl)
		}
		c.keepProvider(c.generation(), calc.Provider{ID: "V1"})
		return c
	}
	tests := []struct {
		payload string
		kept    []personYear // person-years still cached after it
		keptV1  bool
	}{
		{ledgerChange("P1", 2018), []personYear{{"P1", 2019}, {"P 2", 2018}}, true},
		{ledgerChange("P 2", 2018), []personYear{{"P1", 2018}, {"P1", 2019}}, true},
		{"P", nil, true},
		{personsChange([]string{"P1"}), []personYear{{"P 2", 2018}}, true}, // every year of P1
		{personsChange([]string{"P9", "P8"}), []personYear{{"P1", 2018}, {"P1", 2019}, {"P 2", 2018}}, true},
		{personsChange([]string{"P1", "P 2"}), nil, true}, // an id the list cannot carry: every person
		{personsChange(strings.Fields(strings.Repeat("P1234567 ", maxPersonsChange/9+1))), nil, true},
		{personsChange(nil), nil, true},
		{"V", []personYear{{"P1", 2018}, {"P1", 2019}, {"P 2", 2018}}, false},
		{"Lxx P1", nil, false}, // unreadable: anything may have changed
		{"", nil, false},
		{"?", nil, false},
	}
	for _, tt := range tests {
		c := fill()
		c.apply(tt.payload)
		var kept []personYear
		for _, k := range []personYear{{"P1", 2018}, {"P1", 2019}, {"P 2", 2018}} {
			if _, ok := c.personLedger(k.id, k.year); ok {
				kept = append(kept, k)
			}
		}
		if len(kept) != len(tt.kept) {
			t.Errorf("after %q kept %v, want %v", tt.payload, kept, tt.kept)
			continue
		}
		for i := range kept {
			if kept[i] != tt.kept[i] {
				t.Errorf("after %q kept %v, want %v", tt.payload, kept, tt.kept)
				break
			}
		}
		if _, ok := c.provider("V1"); ok != tt.keptV1 {
			t.Errorf("after %q provider kept = %v, want %v", tt.payload, ok, tt.keptV1)
		}
	}
}

// TestReadCacheBounded fills the cache past its bounds.
func TestReadCacheBounded(t *testing.T) {
	c := newReadCache()
	c.on.Store(true)
	for i := range maxCachedPersonYears + 10 {
		c.keepPersonLedger(c.generation(), cachedFor("P", i))
	}
	for i := range maxCachedProviders + 10 {
		c.keepProvider(c.generation(), calc.Provider{ID: string(rune('a'+i%26)) + string(rune(i))})
	}
	if len(c.persons) != maxCachedPersonYears || len(c.providers) != maxCachedProviders {
		t.Fatalf("cache holds %d person-years and %d providers, want at most %d and %d",
			len(c.persons), len(c.providers), maxCachedPersonYears, maxCachedProviders)
	}
}

func TestChannelFor(t *testing.T) {
	tests := []struct{ schema, want string }{
		{"public", "hpcalc_changes_public"},
		{"scratch_0a1b2c3d4e5f", "hpcalc_changes_scratch_0a1b2c3d4e5f"},
		{"County", "hpcalc_changes_" + digest("County")},                               // would need quoting
		{"a b", "hpcalc_changes_" + digest("a b")},                                     // would need quoting
		{"", "hpcalc_changes_" + digest("")},                                           // no schema
		{strings.Repeat("x", 49), "hpcalc_changes_" + digest(strings.Repeat("x", 49))}, // 64 bytes: truncated
		{strings.Repeat("x", 48), "hpcalc_changes_" + strings.Repeat("x", 48)},
	}
	for _, tt := range tests {
		if got := channelFor(tt.schema); got != tt.want || len(got) > 63 {
			t.Errorf("channelFor(%q) = %q, want %q (at most 63 bytes)", tt.schema, got, tt.want)
		}
	}
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}
