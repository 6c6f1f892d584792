package main

import (
	"strings"
	"testing"
)

func TestDeleteGrace(t *testing.T) {
	tests := []struct {
		name       string
		set        bool
		grace      int64
		now, force bool
		want       int64 // -1: nil, the pod's own
		wantErr    string
	}{
		{name: "default", want: -1},
		{name: "explicit", set: true, grace: 7, want: 7},
		{name: "zero becomes one", set: true, grace: 0, want: 1},
		{name: "zero with force", set: true, grace: 0, force: true, want: 0},
		{name: "force alone", force: true, want: 0},
		{name: "force with a grace", set: true, grace: 5, force: true, want: 5},
		{name: "now", now: true, want: 1},
		{name: "now and force", now: true, force: true, want: 1},
		{name: "now with grace", now: true, set: true, grace: 3, wantErr: "--now and --grace-period"},
		{name: "negative", set: true, grace: -1, wantErr: "--grace-period: must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := deleteGrace(tt.set, tt.grace, tt.now, tt.force)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.want == -1 && g != nil:
				t.Errorf("grace = %d, want the pod's own (nil)", *g)
			case tt.want != -1 && (g == nil || *g != tt.want):
				t.Errorf("grace = %v, want %d", g, tt.want)
			}
		})
	}
}
