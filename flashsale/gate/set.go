package gate

// Set is every gate of the buy path, for the handler.
type Set struct {
	Secrets *Secrets
	// Challenges are the proofs of work asked before the secret.
	Challenges *Challenges
	// FairStart holds the buys of a sale's first milliseconds.
	FairStart *FairStart
	SoldOut   *SoldOut
	Blacklist *Blacklist
	Limiter   *RateLimiter
	Admission *Admission
	ClientIP  *ClientIP
	Breaker   *Breaker
}
