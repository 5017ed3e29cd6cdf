//go:build sabotage_doubleinsert

package sabotage

import (
	"errors"
	"math/rand/v2"

	"github.com/go-sql-driver/mysql"
)

// DoubleInsert reports whether the order service's branch runs without the
// SQL barrier and takes DB stock again on a redelivery.
const DoubleInsert = true

// FreshBarrierID returns a barrier id no delivery used before, so dtm's SQL
// barrier never recognises a redelivered branch.
func FreshBarrierID() int { return 100 + rand.IntN(1<<30) }

// Duplicate reports whether err is MySQL's duplicate-key error (1062),
// which the broken branch takes for "my order is already there" and goes
// on to take DB stock again: an idempotent insert beside a side effect that
// is not.
func Duplicate(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == 1062
}
