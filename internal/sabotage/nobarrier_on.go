//go:build sabotage_nobarrier

package sabotage

import (
	"regexp"
)

// NoBarrier reports whether the Lua step skips its barrier check.
const NoBarrier = true

// barrierCheck matches the two early returns of the take script on a barrier
// that is already set (closed by the back-check, or taken by an earlier
// local step).
var barrierCheck = regexp.MustCompile(`(?s)if b == 'rollback' then.*?\nend\nif b then.*?\nend\n`)

// TakeScript returns lua without its barrier check: the local step sets
// the barrier but never reads it. It panics when the check is not found,
// so that a change to the script cannot leave the sabotage silently inert.
func TakeScript(lua string) string {
	if !barrierCheck.MatchString(lua) {
		panic("sabotage_nobarrier: the take script has no barrier check to remove")
	}
	return barrierCheck.ReplaceAllString(lua, "")
}
