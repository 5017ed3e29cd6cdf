// Package contract is everything that crosses the line between the
// project's services: the flashsale service (shopper API, admin API and
// its internal listener) and the order service. Both import it; neither
// imports the other. It holds the gid formats of the three kinds of DTM
// message, the user-id rule, the barrier names, the bodies of the
// branches and back-checks, the internal routes and headers, the signature
// of internal calls, the Redis key layout that reconcile reads, the JSON
// error body with its one code-to-status table, and the two tables both
// services use: the rows of orders and activity_stock and every statement
// that writes activity_stock (tables.go).
//
// It depends on the standard library and the dtm client's protocol only.
package contract
