// Command mint-token prints a shopper bearer token for development:
//
//	FLASHSALE_JWT_SECRET=... go run ./flashsale/cmd/mint-token -user alice [-ttl 24h]
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/flashsale/flashsale/flashsale/auth"
	"github.com/flashsale/flashsale/internal/contract"
)

func main() {
	user := flag.String("user", "", "user id: 1-64 characters of [A-Za-z0-9_]")
	ttl := flag.Duration("ttl", 24*time.Hour, "how long the token is valid")
	secret := flag.String("secret", os.Getenv("FLASHSALE_JWT_SECRET"), "signing secret (default $FLASHSALE_JWT_SECRET)")
	flag.Parse()
	if !contract.ValidUserID(*user) || *secret == "" || *ttl <= 0 {
		fmt.Fprintln(os.Stderr, "usage: mint-token -user ID [-ttl 24h], with FLASHSALE_JWT_SECRET set")
		os.Exit(2)
	}
	fmt.Println(auth.Mint(*secret, *user, time.Now(), *ttl))
}
