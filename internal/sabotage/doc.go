// Package sabotage holds the switches that break the services on purpose,
// so that the chaos suite can prove its checker catches real bugs. Each
// switch is compiled in only under its own build tag, which only the chaos
// suite's broken builds set:
//
//   - sabotage_nobarrier: the purchase's Lua step takes a unit without
//     checking its barrier (NoBarrier, TakeScript), so a retried or late
//     local step takes a second unit for one message;
//   - sabotage_reload: a re-derivation of an activity's Redis stock reloads
//     the activity's total instead (ReloadFromTotal), which oversells after
//     a Redis restart;
//   - sabotage_doubleinsert: the order service's branch runs without dtm's
//     SQL barrier and treats its order row as already there on a
//     redelivery, so every redelivered branch takes a second unit of DB
//     stock (DoubleInsert).
//
// In every other build the switches are false and TakeScript returns its
// argument: the hooks that read them compile to nothing.
package sabotage
