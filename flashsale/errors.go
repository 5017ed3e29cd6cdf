package flashsale

import (
	"errors"
	"fmt"
	"time"

	"github.com/flashsale/flashsale/internal/contract"
)

// Outcomes of a purchase's local step (Stock.Take and QueryPrepared).
var (
	// ErrStockShort: no unit left, or the counter is missing.
	ErrStockShort = contract.Errorf(contract.ESoldOut, "sold out")
	// ErrDuplicate: the purchase's local step already took a unit.
	ErrDuplicate = contract.Errorf(contract.EAlreadyPurchased, "you already bought in this sale")
	// ErrRolledBack: the back-check closed the purchase before its local
	// step ran; that attempt can no longer take a unit.
	ErrRolledBack = contract.Errorf(contract.EUnavailable, "the purchase timed out")
	// ErrStale: the stock counter was set under another Redis process (a
	// restart that may have lost writes) and is being re-derived; no unit
	// was taken.
	ErrStale = contract.Errorf(contract.EUnavailable, "the sale's stock is being restored, try again")
	// ErrRederiving: another re-derivation of the activity's stock holds
	// it, or froze it again since this one began (package restock); this
	// one set nothing more and the next pass tries again.
	ErrRederiving = errors.New("another re-derivation of the stock is under way")
)

// OverLimit is a buy's answer when one of its rate windows is over its
// limit: retry after Wait. Nothing was done.
type OverLimit struct {
	Wait time.Duration
}

func (o *OverLimit) Error() string { return fmt.Sprintf("rate limited for %s", o.Wait) }
