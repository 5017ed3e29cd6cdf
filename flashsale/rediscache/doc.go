// Package rediscache keeps the Redis side of a sale on go-redis v9: the stock
// counter and the barrier keys of dtm's Redis barrier protocol, every key of
// an activity under the hash tag {fs:<activity>} so that one Lua call touches
// one cluster slot. The key layout is the contract's (contract.StockKey...),
// since reconcile reads it too.
package rediscache
