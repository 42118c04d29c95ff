// Package calc is the domain core of hpcalc: money, rates, dates, the policy of the five
// safety lines (五道保障线), persons, claims, annual ledgers, and the cascade that settles one
// claim through the five lines to the fen.
//
// Money is an int64 count of fen and a rate an int64 count of parts per million, so every
// computation is decimal-exact and as fast as integer arithmetic. Every product of a money
// amount and a rate is rounded half-up (away from zero at .5) once, by MulRate or, for banded
// sums, by roundPPM; no step uses floating point.
//
// calc does no I/O and imports only the standard library. It must never import store, api,
// policyfile, csvdata, or any database, HTTP or file-format package: adapters decode input
// into calc values and encode calc results.
package calc
