//go:build !linux

package main

// reserveHugePages does nothing where transparent huge pages are not Linux's (see
// hugepages_linux.go).
func reserveHugePages(size int64) {}
