//go:build !faultinject

// Package faultpoint marks the places on the purchase path where the chaos
// and crash tests stop a process. In normal builds Hit does nothing; builds
// with the faultinject tag (tests only) can park the process there.
package faultpoint

// Hit marks fault point name; detail identifies the purchase (its gid).
func Hit(name, detail string) {}
