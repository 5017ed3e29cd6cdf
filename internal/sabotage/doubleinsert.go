//go:build !sabotage_doubleinsert

package sabotage

// DoubleInsert reports whether the order service's branch runs without the
// SQL barrier and takes DB stock again on a redelivery.
const DoubleInsert = false

// FreshBarrierID is unused outside sabotage_doubleinsert.
func FreshBarrierID() int { return 0 }

// Duplicate reports false outside sabotage_doubleinsert.
func Duplicate(error) bool { return false }
