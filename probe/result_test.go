package probe

import (
	"errors"
	"fmt"
	"testing"
)

// trackerStep is one thing that happens to a Tracker and what must hold afterwards.
type trackerStep struct {
	op          string // "observe", "set" or "reset"
	result      Result
	err         error
	wantChanged bool
	want        Result
	wantHold    bool
}

func observe(r Result, changed bool, want Result, hold bool) trackerStep {
	return trackerStep{op: "observe", result: r, wantChanged: changed, want: want, wantHold: hold}
}

// observeErr is a probe run that returned an error: the kubelet throws it away.
func observeErr(r Result, want Result, hold bool) trackerStep {
	return trackerStep{op: "observe", result: r, err: errors.New("probe errored"), want: want, wantHold: hold}
}

func set(r Result, changed bool, want Result, hold bool) trackerStep {
	return trackerStep{op: "set", result: r, wantChanged: changed, want: want, wantHold: hold}
}

func reset(want Result) trackerStep {
	return trackerStep{op: "reset", want: want}
}

func TestTracker(t *testing.T) {
	const S, F, W, U = Success, Failure, Warning, Unknown
	tests := []struct {
		name  string
		kind  Kind
		th    Thresholds
		steps []trackerStep
	}{
		{
			name: "readiness starts as failure and one success makes it ready",
			kind: Readiness, th: Thresholds{Success: 1, Failure: 3},
			steps: []trackerStep{
				observe(S, true, S, false),
				observe(S, false, S, false),
			},
		},
		{
			name: "readiness needs successThreshold then failureThreshold results in a row",
			kind: Readiness, th: Thresholds{Success: 3, Failure: 2},
			steps: []trackerStep{
				observe(S, false, F, false),
				observe(S, false, F, false),
				observe(S, true, S, false),
				observe(F, false, S, false),
				observe(F, true, F, false),
				observe(F, false, F, false), // still failing: no change, and readiness never holds
			},
		},
		{
			name: "a different result restarts the run",
			kind: Readiness, th: Thresholds{Success: 3, Failure: 3},
			steps: []trackerStep{
				observe(S, false, F, false),
				observe(S, false, F, false),
				observe(F, false, F, false),
				observe(S, false, F, false),
				observe(S, false, F, false),
				observe(S, true, S, false),
			},
		},
		{
			name: "warning counts as success, unknown without error as failure",
			kind: Readiness, th: Thresholds{Success: 2, Failure: 2},
			steps: []trackerStep{
				observe(W, false, F, false),
				observe(S, true, S, false),
				observe(U, false, S, false),
				observe(F, true, F, false),
			},
		},
		{
			name: "errored runs are discarded and do not break a run",
			kind: Readiness, th: Thresholds{Success: 3, Failure: 3},
			steps: []trackerStep{
				observe(S, false, F, false),
				observeErr(F, F, false),
				observeErr(U, F, false),
				observe(S, false, F, false),
				observe(S, true, S, false),
			},
		},
		{
			name: "liveness starts alive, holds after a settled failure until reset",
			kind: Liveness, th: Thresholds{Success: 1, Failure: 3},
			steps: []trackerStep{
				observe(S, false, S, false),
				observe(F, false, S, false),
				observe(F, false, S, false),
				observe(F, true, F, true),
				observe(S, false, F, true), // on hold: ignored
				set(F, false, F, true),     // on hold: ignored
				reset(S),
				// The hold cleared the run: the new container needs three failures again.
				observe(F, false, S, false),
				observe(F, false, S, false),
				observe(F, true, F, true),
			},
		},
		{
			name: "liveness success does not hold",
			kind: Liveness, th: Thresholds{Success: 1, Failure: 1},
			steps: []trackerStep{
				observe(S, false, S, false),
				observe(S, false, S, false),
				observe(F, true, F, true),
			},
		},
		{
			name: "startup is unknown until it settles, and holds on success",
			kind: Startup, th: Thresholds{Success: 1, Failure: 3},
			steps: []trackerStep{
				observe(F, false, U, false),
				observe(F, false, U, false),
				observe(S, true, S, true),
				observe(F, false, S, true),
				reset(U),
				observe(S, true, S, true),
			},
		},
		{
			name: "startup holds on failure",
			kind: Startup, th: Thresholds{Success: 1, Failure: 2},
			steps: []trackerStep{
				observe(F, false, U, false),
				observe(F, true, F, true),
				reset(U),
				observe(F, false, U, false),
			},
		},
		{
			name: "reset keeps the readiness run across containers, as the kubelet does",
			kind: Readiness, th: Thresholds{Success: 3, Failure: 3},
			steps: []trackerStep{
				observe(S, false, F, false),
				observe(S, false, F, false),
				set(F, false, F, false), // container exited
				reset(F),                // new container
				observe(S, true, S, false),
			},
		},
		{
			name: "set stores a result without thresholds",
			kind: Readiness, th: Thresholds{Success: 1, Failure: 3},
			steps: []trackerStep{
				observe(S, true, S, false),
				set(F, true, F, false),
				set(F, false, F, false),
				set(W, true, S, false),
			},
		},
		{
			name: "set success during pod deletion of a liveness probe",
			kind: Liveness, th: Thresholds{Success: 1, Failure: 1},
			steps: []trackerStep{
				set(S, false, S, false),
			},
		},
		{
			name: "thresholds below one behave as one",
			kind: Readiness, th: Thresholds{Success: 0, Failure: -1},
			steps: []trackerStep{
				observe(S, true, S, false),
				observe(F, true, F, false),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := NewTracker(tt.kind, tt.th)
			if got, want := tr.Result(), tt.kind.initialResult(); got != want {
				t.Fatalf("initial Result() = %v, want %v", got, want)
			}
			if tr.Kind() != tt.kind {
				t.Fatalf("Kind() = %v, want %v", tr.Kind(), tt.kind)
			}
			for i, s := range tt.steps {
				var changed bool
				switch s.op {
				case "observe":
					changed = tr.Observe(s.result, s.err)
				case "set":
					changed = tr.Set(s.result)
				case "reset":
					tr.Reset()
				}
				desc := fmt.Sprintf("step %d (%s %v, err %v)", i, s.op, s.result, s.err)
				if changed != s.wantChanged {
					t.Errorf("%s: changed = %v, want %v", desc, changed, s.wantChanged)
				}
				if got := tr.Result(); got != s.want {
					t.Errorf("%s: Result() = %v, want %v", desc, got, s.want)
				}
				if got := tr.OnHold(); got != s.wantHold {
					t.Errorf("%s: OnHold() = %v, want %v", desc, got, s.wantHold)
				}
			}
		})
	}
}

func TestInitialResults(t *testing.T) {
	for kind, want := range map[Kind]Result{Readiness: Failure, Liveness: Success, Startup: Unknown} {
		if got := NewTracker(kind, Thresholds{1, 3}).Result(); got != want {
			t.Errorf("NewTracker(%v).Result() = %v, want %v", kind, got, want)
		}
	}
}

func TestStrings(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{Unknown.String(), "unknown"},
		{Success.String(), "success"},
		{Failure.String(), "failure"},
		{Warning.String(), "warning"},
		{Result(9).String(), "Result(9)"},
		{Liveness.String(), "Liveness"},
		{Readiness.String(), "Readiness"},
		{Startup.String(), "Startup"},
		{Kind(7).String(), "UNKNOWN"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("String() = %q, want %q", tt.got, tt.want)
		}
	}
}
