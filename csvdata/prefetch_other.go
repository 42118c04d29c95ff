//go:build !amd64

package csvdata

// prefetch does nothing here: prefetch_amd64.s asks the processor for p's cache line
// ahead of its use. Tables are correct without it, only slower to fill.
func prefetch(*idSlot) {}
