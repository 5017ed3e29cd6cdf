//go:build sabotage_doubleinsert

package sabotage

// DoubleInsert reports whether the order service's branch runs without the
// SQL barrier and takes DB stock again on a redelivery.
const DoubleInsert = true
