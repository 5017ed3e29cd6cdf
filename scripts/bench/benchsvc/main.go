// Command benchsvc runs the benchmark's peer services, each as its own
// process so that the load generator's CPU stays its own and each figure
// compares processes with processes:
//
//	benchsvc bare -addr 127.0.0.1:PORT
//	    a bare gin handler (the HTTP ceiling): POST /api/v1/activities/:id/buy
//	    answers 409 sold_out, doing nothing else.
//	benchsvc dtm -http-port P -grpc-port P -redis ADDR -redis-prefix X -dir D
//	    a dtm server built from the module as published: its default
//	    settings and HTTP clients, on a Redis store (the reference's dtm).
//	benchsvc ref -addr 127.0.0.1:PORT -dtm URL -redis ADDR -redis-db N -stock-key K
//	    the reference path: the hot path of dtm's flash-sale example
//	    (DoAndSubmit with dtmcli's RedisCheckAdjustAmount per request, no
//	    gates), a branch that only counts, and the back-check.
//
// The bench command (scripts/bench) builds and starts it; it is not meant to
// be run by hand, though nothing stops you.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "benchsvc:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: benchsvc bare|dtm|ref [flags]")
	}
	switch args[0] {
	case "bare":
		return runBare(ctx, args[1:])
	case "dtm":
		return runDTM(ctx, args[1:])
	case "ref":
		return runReference(ctx, args[1:])
	}
	return fmt.Errorf("unknown mode %q: bare, dtm or ref", args[0])
}
