//go:build !sabotage_nobarrier

package sabotage

// NoBarrier reports whether the Lua step skips its barrier check.
const NoBarrier = false

// TakeScript returns the purchase's Lua step as the build runs it: lua
// itself, except under sabotage_nobarrier.
func TakeScript(lua string) string { return lua }
