package main

import (
	"runtime"
	"syscall"
	"unsafe"
)

// hugePageSize is the size of a transparent huge page on the platforms Go runs Linux on
// that have them (amd64's 2 MiB; on others the kernel ignores what it cannot use).
const hugePageSize = 2 << 20

// reserveHugePages makes about size bytes of the Go heap eligible for transparent huge
// pages, for a run whose heap will spread over about that much: it allocates a slice of that
// size, which the runtime takes from memory it has just mapped and never touched, marks
// it MADV_HUGEPAGE, and lets it go, so that the heap's next allocations reuse that
// memory. The mark belongs to the mapping and outlives the slice.
//
// Why: where the kernel gives huge pages only to memory that asks for them
// (/sys/kernel/mm/transparent_hugepage/enabled set to madvise, as on Debian and on the
// virtual machines we measure on), every 4 KiB page the heap touches for the first time
// is a page fault, and on a virtual machine a fault costs about 14 µs: a what-if from a
// province's files took about 65,000 of them, a third of its CPU time. With 2 MiB pages
// it takes about a third as many, and the memory it holds is no larger (its resident
// set is bound by the soft memory limit, which limitMemory sets beside this). Where huge
// pages are off, or already on for everything, the mark changes nothing; an error of
// madvise is ignored for the same reason.
func reserveHugePages(size int64) {
	if size < 2*hugePageSize {
		return
	}
	b := make([]byte, size)
	// The whole huge pages within b: madvise wants an aligned start.
	at := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	start := int((at+hugePageSize-1)&^(hugePageSize-1) - at)
	end := int((at+uintptr(size))&^(hugePageSize-1) - at)
	if start < end {
		_ = syscall.Madvise(b[start:end], syscall.MADV_HUGEPAGE)
	}
	b = nil
	// Collect the slice now, before the run allocates: the heap is still small, so this is
	// cheap, and the run's first allocations then come from the marked memory.
	runtime.GC()
}
