package calc

import "cmp"

// CompareClaims orders two claims of one person for settlement (POLICY.md "Order"): by
// discharge date, then by the byte order of their claim ids. The order decides who reaches
// a deductible, band or cap first, so every path that settles several claims of a person
// (replay, the bulk engine, the audit, imports) sorts with this function or CompareOrder.
// Callers holding several persons' claims order by person id first.
func CompareClaims(a, b *Claim) int {
	return CompareOrder(a.DischargedOn, a.ID, b.DischargedOn, b.ID)
}

// CompareOrder is CompareClaims on the two fields the order reads, for callers that keep
// claims in columns: ID is a claim id as a string or as its bytes.
func CompareOrder[ID ~string | ~[]byte](dischargedA Date, idA ID, dischargedB Date, idB ID) int {
	if c := cmp.Compare(dischargedA, dischargedB); c != 0 {
		return c
	}
	for i := range min(len(idA), len(idB)) {
		if c := cmp.Compare(idA[i], idB[i]); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(idA), len(idB))
}

// CompareByPerson orders claims of several persons for settlement: by person id, then by
// CompareClaims, so that each person-year's claims come together in their order.
func CompareByPerson(a, b *Claim) int {
	return cmp.Or(cmp.Compare(a.PersonID, b.PersonID), CompareClaims(a, b))
}
