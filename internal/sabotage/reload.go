//go:build !sabotage_reload

package sabotage

// ReloadFromTotal reports whether a re-derivation of Redis stock reloads
// the activity's total instead.
const ReloadFromTotal = false
