package csvdata

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestIDTable adds ids in increasing order, then out of order, with repeats, and checks
// every answer against a map; with collide set, every id has the same hash, so that only
// the comparison of the bytes tells ids apart. EveryCore has tables large enough to be
// built on every core.
func TestIDTable(t *testing.T) {
	for _, tc := range []struct {
		name    string
		n       int
		collide bool
	}{{"Hashed", 50000, false}, {"EveryHashAlike", 600, true}, {"EveryCore", 360000, false}} {
		t.Run(tc.name, func(t *testing.T) {
			ids := newIDTable()
			ids.collide = tc.collide
			want := map[string]int{} // id → number
			lines := map[string]int{}
			add := func(id string, line int) {
				t.Helper()
				n, added := ids.add(id, line)
				prev, seen := want[id]
				switch {
				case added == seen:
					t.Fatalf("add(%q): added %v, seen before %v", id, added, seen)
				case seen && n != prev:
					t.Fatalf("add(%q) again: number %d, want %d", id, n, prev)
				case !seen && n != len(want):
					t.Fatalf("add(%q): number %d, want %d", id, n, len(want))
				}
				if !seen {
					want[id], lines[id] = n, line
				}
			}
			rng := rand.New(rand.NewPCG(1, 2))
			line := 1
			// In increasing order, with a repeat of the id before now and then.
			for i := range tc.n / 2 {
				line++
				add(fmt.Sprintf("C%08d", i), line)
				if i%97 == 0 {
					line++
					add(fmt.Sprintf("C%08d", i), line)
				}
			}
			if ids.slots != nil {
				t.Errorf("the table is built though the ids came in order")
			}
			// Then at random, new and old, some empty-looking and some long.
			for range tc.n {
				line++
				switch k := rng.IntN(10); {
				case k < 3:
					add(fmt.Sprintf("C%08d", rng.IntN(tc.n)), line)
				case k < 9:
					add(fmt.Sprintf("X%d", rng.IntN(tc.n)), line)
				default:
					add(fmt.Sprintf("%0*d", 1+rng.IntN(40), rng.IntN(100)), line)
				}
			}
			if ids.len() != len(want) {
				t.Fatalf("%d ids, want %d", ids.len(), len(want))
			}
			// Rebuilt on every core at once (index after the table was let go).
			if tc.name == "EveryCore" {
				ids.slots = nil
				ids.index()
				if len(ids.slots) < 1<<18 {
					t.Fatalf("a table of %d slots is not built on every core", len(ids.slots))
				}
			}
			for id, n := range want {
				if got, ok := ids.find(id); !ok || got != n {
					t.Fatalf("find(%q) = %d, %v; want %d", id, got, ok, n)
				}
				if ids.id(n) != id || ids.line(n) != lines[id] {
					t.Fatalf("id %d is %q first on line %d, want %q on line %d", n, ids.id(n), ids.line(n), id, lines[id])
				}
			}
			for _, id := range []string{"", "C", "nobody", "C000000001"} {
				if n, ok := ids.find(id); ok {
					t.Errorf("find(%q) = %d for an id never added", id, n)
				}
			}
		})
	}
	t.Run("FindBuildsTheTable", func(t *testing.T) {
		ids := newIDTable()
		for i := range 3000 {
			ids.add(fmt.Sprintf("P%05d", i), i+2)
		}
		if n, ok := ids.find("P01234"); !ok || n != 1234 {
			t.Errorf("find = %d, %v; want 1234", n, ok)
		}
		if n, ok := ids.find("P1234"); ok {
			t.Errorf("find(P1234) = %d", n)
		}
	})
}

// TestColumns: the column constants name the columns of PersonColumns, ProviderColumns
// and ClaimColumns in order.
func TestColumns(t *testing.T) {
	for _, tc := range []struct {
		list []string
		cols map[column]string
	}{
		{PersonColumns, map[column]string{personID: "person_id", personHousehold: "household_id", personPoor: "registered_poor", personAid: "aid_category"}},
		{ProviderColumns, map[column]string{providerID: "provider_id", providerName: "name", providerLevel: "level"}},
		{ClaimColumns, map[column]string{claimID: "claim_id", claimPerson: "person_id", claimProvider: "provider_id", claimLevel: "level",
			claimKind: "kind", claimAdmitted: "admitted_on", claimDischarged: "discharged_on", claimTotal: "total", claimInPolicy: "in_policy"}},
	} {
		if len(tc.cols) != len(tc.list) {
			t.Errorf("%d constants for %d columns %v", len(tc.cols), len(tc.list), tc.list)
		}
		for c, name := range tc.cols {
			if int(c) >= len(tc.list) || tc.list[c] != name {
				t.Errorf("column %d is not %s in %v", c, name, tc.list)
			}
		}
	}
}

// TestPack: pack, which reads an id's first eight bytes at once, packs ids as a byte at a
// time does, and refuses those with a zero byte anywhere, for strings and byte slices alike.
func TestPack(t *testing.T) {
	slow := func(id []byte) (key, hi uint64, ok bool) {
		if len(id) > shortID {
			return 0, 0, false
		}
		for i, b := range id {
			if b == 0 {
				return 0, 0, false
			}
			if i < 8 {
				key |= uint64(b) << (8 * i)
			} else {
				hi |= uint64(b) << (8 * (i - 8))
			}
		}
		return key, hi, true
	}
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []byte{0, 1, 'A', 'P', '0', '9', 0x7f, 0x80, 0xfe, 0xff}
	for range 200_000 {
		id := make([]byte, rng.IntN(shortID+3))
		for i := range id {
			id[i] = alphabet[rng.IntN(len(alphabet))]
		}
		wk, wh, wok := slow(id)
		if k, h, ok := pack(id); k != wk || h != wh || ok != wok {
			t.Fatalf("pack(%q) = %x, %x, %v; want %x, %x, %v", id, k, h, ok, wk, wh, wok)
		}
		if k, h, ok := pack(string(id)); k != wk || h != wh || ok != wok {
			t.Fatalf("pack(string %q) = %x, %x, %v; want %x, %x, %v", id, k, h, ok, wk, wh, wok)
		}
	}
}

// TestLastOnly: a table that keeps only its last id and the ids' hashes takes new ids in
// any order and refuses a repeat, of the last id or of any before it, before and after the
// ids first break their increasing order, and as its set of hashes grows.
func TestLastOnly(t *testing.T) {
	tab := newLastOnly()
	for i, tt := range []struct {
		id    string
		added bool
	}{
		{"C1", true}, {"C2", true}, {"C2", false}, {"C10", true}, {"C3", true}, {"C2", false}, {"C1", false},
		{"C30", true}, {"C10", false}, {"C-long-claim-id-0001", true}, {"C-long-claim-id-0001", false},
	} {
		if _, added := tab.add(tt.id, 10+i); added != tt.added {
			t.Errorf("add %s: added %v, want %v", tt.id, added, tt.added)
		}
	}
	if tab.len() != 6 {
		t.Errorf("len %d, want 6", tab.len())
	}
	// Thousands more, shuffled, each then repeated: the set grows several times.
	rng := rand.New(rand.NewPCG(3, 4))
	ids := make([]string, 20_000)
	for i := range ids {
		ids[i] = fmt.Sprintf("K%07d", i)
	}
	rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	for _, id := range ids {
		if _, added := tab.add(id, 1); !added {
			t.Fatalf("add %s: refused a new id", id)
		}
	}
	for _, id := range ids[:1000] {
		if _, added := tab.add(id, 1); added {
			t.Fatalf("add %s again: taken", id)
		}
	}
	if want := 6 + len(ids); tab.len() != want {
		t.Errorf("len %d, want %d", tab.len(), want)
	}

	// In increasing order only the last id is kept, beside the hashes.
	sorted := newLastOnly()
	for _, id := range []string{"A1", "A2", "A3"} {
		sorted.add(id, 1)
	}
	if _, added := sorted.add("A3", 2); added || sorted.hashSet != nil || string(sorted.last) != "A3" || len(sorted.hashes) != 1 || len(sorted.hashes[0]) != 3 {
		t.Errorf("in order: repeat added %v, set %v, last %q, %d chunks of hashes", added, sorted.hashSet != nil, sorted.last, len(sorted.hashes))
	}
	// Past a chunk of hashes in order, then an early id again: found among every chunk's.
	long := newLastOnly()
	for i := range hashesPerChunk + 100 {
		if _, added := long.add(fmt.Sprintf("L%07d", i), i); !added {
			t.Fatalf("L%07d refused in increasing order", i)
		}
	}
	if _, added := long.add("L0000005", 1); added {
		t.Error("an id of the first chunk, repeated out of order, was taken")
	}
	if _, added := long.add(fmt.Sprintf("L%07d", hashesPerChunk+50), 1); added {
		t.Error("an id of the second chunk, repeated out of order, was taken")
	}
	if _, added := long.add("K0000001", 1); !added || long.len() != hashesPerChunk+101 {
		t.Errorf("a new id out of order: added %v, len %d", added, long.len())
	}
}

// TestFilter: with its filter built, findMany still finds every id of the table, short
// and long, and no other, whether the hashes differ or are all alike.
func TestFilter(t *testing.T) {
	for _, collide := range []bool{false, true} {
		tab := newIDTable()
		tab.collide = collide
		in := map[string]int{}
		n := 20000
		if collide {
			n = 300
		}
		for i := range n {
			id := fmt.Sprintf("P%07d", 7*i)
			if i%10 == 0 {
				id += "-a-long-id-past-twelve-bytes"
			}
			m, _ := tab.add(id, 0)
			in[id] = m
		}
		tab.index()
		tab.buildFilter()
		var queries []string
		for i := range 5 * n {
			queries = append(queries, fmt.Sprintf("P%07d", i), fmt.Sprintf("P%07d-a-long-id-past-twelve-bytes", i))
		}
		found := make([]int, 64)
		for lo := 0; lo < len(queries); lo += 64 {
			k := min(64, len(queries)-lo)
			tab.findMany(k, func(j int) string { return queries[lo+j] }, found[:k])
			for j, got := range found[:k] {
				want, ok := in[queries[lo+j]]
				if !ok {
					want = -1
				}
				if got != want {
					t.Fatalf("collide %v: findMany %s = %d, want %d", collide, queries[lo+j], got, want)
				}
			}
		}
	}
}
