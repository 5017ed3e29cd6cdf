package purchase

import (
	"context"
	"errors"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/tracing"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// BranchHeaders returns the headers the dtm server sends with every call it
// makes for a purchase message (its branch, and the back-check): dtm stores
// them with the message (TransOptions.BranchHeaders) and adds them to each
// call, so they reach the order service even when the call is a retry. They
// carry when the purchase was prepared and the trace context of ctx (W3C
// traceparent, when tracing is set up: package tracing).
func BranchHeaders(ctx context.Context, preparedAt time.Time) map[string]string {
	h := map[string]string{contract.PreparedAtHeader: preparedAt.UTC().Format(time.RFC3339Nano)}
	otel.GetTextMapPropagator().Inject(tracing.Context(ctx), propagation.MapCarrier(h))
	return h
}

// timer times the steps of one purchase for an Observer, and records each
// as a span of the request's trace (package tracing).
type timer struct {
	ctx  context.Context
	o    Observer
	last time.Time
}

func newTimer(ctx context.Context, o Observer) *timer {
	return &timer{ctx: tracing.Context(ctx), o: o, last: time.Now()}
}

// span records a span of the step that ran from t.last to end.
func (t *timer) span(step string, end time.Time) {
	if !tracing.Exporting() {
		return
	}
	_, s := otel.Tracer("flashsale/purchase").Start(t.ctx, step, trace.WithTimestamp(t.last), trace.WithSpanKind(trace.SpanKindClient))
	s.End(trace.WithTimestamp(end))
}

// lap reports the time since the previous lap as step ("prepare" or "lua").
func (t *timer) lap(step string) {
	now := time.Now()
	t.span(map[string]string{"lua": "redis lua take", "prepare": "dtm prepare"}[step], now)
	if t.o != nil {
		if step == "lua" {
			t.o.ObserveLua(now.Sub(t.last))
		} else {
			t.o.ObserveDTM(step, now.Sub(t.last))
		}
	}
	t.last = now
}

// finish reports what DoAndSubmit did after the local step: submit, abort
// (the local step failed for good), or query (the client's back-check, then
// submit or abort). A purchase whose local step never ran spent its time
// in a failed prepare.
func (t *timer) finish(ran bool, local error) {
	call := "submit"
	switch {
	case !ran:
		call = "prepare"
	case errors.Is(local, flashsale.ErrStockShort), errors.Is(local, flashsale.ErrRolledBack), errors.Is(local, dtmcli.ErrFailure):
		call = "abort"
	case local != nil:
		call = "query"
	}
	now := time.Now()
	t.span("dtm "+call, now)
	if t.o != nil {
		t.o.ObserveDTM(call, now.Sub(t.last))
	}
}
