//go:build !faultinject

// Package faultpoint marks the places on the purchase and cancellation paths
// where the chaos and crash tests stop a process (flashsale's and the order
// service's: any package may import it). In normal builds Hit does nothing;
// builds with the faultinject tag (tests only) can park the process there.
package faultpoint

// Hit marks fault point name; detail identifies the purchase (its gid).
func Hit(name, detail string) {}
