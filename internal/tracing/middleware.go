package tracing

import (
	"context"
	"net/http"

	"github.com/flashsale/flashsale/internal/statuswriter"
	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// ginSpan is the gin context key under which Gin keeps the request's span.
// A handler hands its *gin.Context on as a context.Context, whose Value
// finds string keys set with c.Set but not the request context's values
// (unless the engine falls back to them, which also makes every handler's
// context end when the client hangs up); Context reads it from there.
const ginSpan = "tracing.span"

// Gin returns middleware that runs each request in a server span of
// tracer, a child of the caller's trace when the request carries one
// (traceparent), named after the route.
func Gin(tracer string) gin.HandlerFunc {
	t := otel.Tracer(tracer)
	return func(c *gin.Context) {
		if !Exporting() {
			// Nothing is recorded here: pass the caller's trace on, if any.
			if _, ok := c.Request.Header["Traceparent"]; ok {
				ctx := otel.GetTextMapPropagator().Extract(c.Request.Context(), propagation.HeaderCarrier(c.Request.Header))
				c.Set(ginSpan, trace.SpanFromContext(ctx))
			}
			c.Next()
			return
		}
		ctx := otel.GetTextMapPropagator().Extract(c.Request.Context(), propagation.HeaderCarrier(c.Request.Header))
		ctx, span := t.Start(ctx, c.Request.Method+" "+route(c), trace.WithSpanKind(trace.SpanKindServer))
		defer span.End()
		c.Request = c.Request.WithContext(ctx)
		c.Set(ginSpan, span)
		c.Next()
		status(span, c.Writer.Status())
	}
}

// HTTP wraps h likewise, for a handler that is not a gin engine of ours.
func HTTP(tracer string, h http.Handler) http.Handler {
	t := otel.Tracer(tracer)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !Exporting() {
			h.ServeHTTP(w, r) // nothing to record; this service calls no one on
			return
		}
		ctx := otel.GetTextMapPropagator().Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := t.Start(ctx, r.Method+" "+r.URL.Path, trace.WithSpanKind(trace.SpanKindServer))
		defer span.End()
		sw := statuswriter.New(w)
		h.ServeHTTP(sw, r.WithContext(ctx))
		status(span, sw.Code())
	})
}

// Context returns ctx carrying the span of the request it belongs to:
// ctx's own span, or the span Gin keeps in a *gin.Context up ctx's chain.
func Context(ctx context.Context) context.Context {
	if trace.SpanContextFromContext(ctx).IsValid() {
		return ctx
	}
	if s, ok := ctx.Value(ginSpan).(trace.Span); ok {
		return trace.ContextWithSpan(ctx, s)
	}
	return ctx
}

func route(c *gin.Context) string {
	if r := c.FullPath(); r != "" {
		return r
	}
	return "unrouted"
}

func status(span trace.Span, code int) {
	span.SetAttributes(attribute.Int("http.status_code", code))
	if code >= http.StatusInternalServerError {
		span.SetStatus(codes.Error, http.StatusText(code))
	}
}
