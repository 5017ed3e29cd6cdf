// Package tracing sets up OpenTelemetry tracing for a process and carries
// a purchase's trace across the dtm server.
//
// The W3C trace context propagator is always installed, so a trace begun
// upstream flows through flashsale, into the purchase message's
// BranchHeaders (package purchase), which the dtm server stores with the
// message and sends with its calls to the order service; spans are
// exported, over OTLP/HTTP, only when OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set (the exporter reads the other
// OTEL_EXPORTER_OTLP_* variables itself). The dtm server (v1.19.0) makes no
// spans of its own: in a trace, the order service's createOrder span is a
// child of flashsale's buy span, with the time dtm took in between.
//
// OpenTelemetry keeps its provider and propagator in package globals;
// Setup is the one place that sets them.
package tracing

import (
	"context"
	"fmt"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.17.0"
)

// Setup installs the trace context propagator and, when an OTLP endpoint
// is configured, a tracer provider exporting the spans of service. The
// returned function flushes and stops the exporter. It reports whether
// spans are exported.
func Setup(ctx context.Context, service string, getenv func(string) string) (shutdown func(context.Context) error, exporting bool, err error) {
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	noop := func(context.Context) error { return nil }
	if getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		return noop, false, nil
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return noop, false, fmt.Errorf("otlp exporter: %w", err)
	}
	res, err := resource.Merge(resource.Default(), resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName(service)))
	if err != nil {
		return noop, false, fmt.Errorf("trace resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	recording.Store(true)
	return tp.Shutdown, true, nil
}

// recording mirrors OpenTelemetry's global provider: whether Setup
// installed one that records spans.
var recording atomic.Bool

// Exporting reports whether spans are recorded and exported. When they are
// not, the middleware only passes a caller's trace context on, and the
// purchase makes no spans: nothing would record them.
func Exporting() bool { return recording.Load() }
