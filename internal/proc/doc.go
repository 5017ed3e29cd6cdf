// Package proc runs the project's programs as processes of their own, for
// the tests, the chaos suite, the bench and the commands that start the
// services on a machine (scripts/services, scripts/cluster).
//
// It builds binaries (Build), starts a Process and waits until it is ready
// (StartReady, with a Probe), keeps its output (a log file, and its last
// lines in memory to wait for: WaitLine, Expect), signals it (Kill, Stop,
// Pause, Resume), starts it again after it ended, writes its pid file and
// finds it again from that file in a later run (Adopt, StopAll), lists the
// sockets a process listens on (Listening) and hands out free ports
// (FreePort, FreeRange).
//
// Nothing here reports through testing: every failure is an error.
package proc
