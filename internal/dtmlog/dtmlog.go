// Package dtmlog gives dtm's logger a log level before that logger's
// package initialises. github.com/dtm-labs/logger reads LOG_LEVEL in its
// init function and, when it is unset, prints "invalid log level: ,
// switching to default: INFO" on stderr before main runs: the stray line
// at the start of every binary that links dtm. Imported (for its effect)
// by such a binary's main package, this package sets LOG_LEVEL to "warn"
// when it is unset, and its init runs first: it imports only os, and Go
// initialises, at each step, the first package in import-path order whose
// imports are done, so it comes before the logger, which waits for zap
// ("go.uber.org/zap" sorts after this package). A LOG_LEVEL the user set
// is left as it is. The dtm server's own level is dtmconf.Server.LogLevel
// either way (dtmserver.Start sets it again once the config is loaded).
package dtmlog

import "os"

// Level is the level given to dtm's logger when LOG_LEVEL is unset.
const Level = "warn"

func init() {
	if os.Getenv("LOG_LEVEL") == "" {
		os.Setenv("LOG_LEVEL", Level)
	}
}
