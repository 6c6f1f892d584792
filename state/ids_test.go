package state

import (
	"regexp"
	"testing"
)

var uuidV4RE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestNewUID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		u := NewUID()
		if !uuidV4RE.MatchString(u) || !IsUID(u) {
			t.Fatalf("NewUID() = %q, not an RFC 4122 version 4 UUID", u)
		}
		if seen[u] {
			t.Fatalf("NewUID() returned %q twice", u)
		}
		seen[u] = true
	}
}

func TestSandboxID(t *testing.T) {
	tests := []struct{ uid, want string }{
		{"0b1f6c2e-3d4a-4b5c-8d6e-7f8091a2b3c4", "0b1f6c2e3d4a4b5c8d6e7f8091a2b3c4"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := SandboxID(tt.uid); got != tt.want {
			t.Errorf("SandboxID(%q) = %q, want %q", tt.uid, got, tt.want)
		}
	}
	// The id of a fresh uid is 32 hex digits: unique per pod and short enough for names
	// derived from it.
	if id := SandboxID(NewUID()); !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(id) {
		t.Errorf("SandboxID(NewUID()) = %q, want 32 hex digits", id)
	}
}

// Every formatter has its parser beside it: what one writes, the other reads back, and
// nothing else parses.
func TestContainerIDRoundTrip(t *testing.T) {
	uid := "0b1f6c2e-3d4a-4b5c-8d6e-7f8091a2b3c4"
	for _, tt := range []struct {
		name    string
		attempt int32
	}{{"web", 0}, {"my-side-car-2", 17}, {"a", 2147483647}, {"x-1", 3}} {
		id := ContainerID(uid, tt.name, tt.attempt)
		gotUID, gotName, gotAttempt, ok := ParseContainerID(id)
		if !ok || gotUID != uid || gotName != tt.name || gotAttempt != tt.attempt {
			t.Errorf("ParseContainerID(%q) = %q %q %d %v, want %q %q %d", id, gotUID, gotName, gotAttempt, ok, uid, tt.name, tt.attempt)
		}
	}
	for _, bad := range []string{
		"", "web-0", uid, uid + "-", uid + "-web", uid + "-web-", uid + "--1", uid + "-web--1", uid + "-web-x",
		"0b1f6c2e3d4a4b5c8d6e7f8091a2b3c4-web-0", "0B1F6C2E-3D4A-4B5C-8D6E-7F8091A2B3C4-web-0", uid + "_web-0",
	} {
		if _, _, _, ok := ParseContainerID(bad); ok {
			t.Errorf("ParseContainerID(%q) accepted", bad)
		}
	}
}

func TestLogDirNameRoundTrip(t *testing.T) {
	uid := NewUID()
	ns, name, gotUID, ok := ParseLogDirName(LogDirName("kube-system", "web.example", uid))
	if !ok || ns != "kube-system" || name != "web.example" || gotUID != uid {
		t.Errorf("round trip = %q %q %q %v", ns, name, gotUID, ok)
	}
	for _, bad := range []string{"", "a_b", "a_b_c", "a_b_c_" + uid, "a_" + uid} {
		if _, _, _, ok := ParseLogDirName(bad); ok {
			t.Errorf("ParseLogDirName(%q) accepted", bad)
		}
	}
}

func TestPodKeyRoundTrip(t *testing.T) {
	ns, name, ok := ParsePodKey(PodKey("default", "web"))
	if !ok || ns != "default" || name != "web" {
		t.Errorf("round trip = %q %q %v", ns, name, ok)
	}
	for _, bad := range []string{"", "web", "_web", "default_", "a_b_c"} {
		if _, _, ok := ParsePodKey(bad); ok {
			t.Errorf("ParsePodKey(%q) accepted", bad)
		}
	}
}

func TestIsUID(t *testing.T) {
	for s, want := range map[string]bool{
		"23fa2b22-e98d-4e42-89aa-a4f2d2618a99":  true,
		"23FA2B22-e98d-4e42-89aa-a4f2d2618a99":  false, // Kubernetes' uids are lowercase
		"23fa2b22e98d-4e42-89aa-a4f2d2618a99-":  false,
		"23fa2b22-e98d-4e42-89aa-a4f2d2618a9":   false,
		"23fa2b22-e98d-4e42-89aa-a4f2d2618a99a": false,
		"23fa2b22-e98d-4e42-89aa-a4f2d2618a9g":  false,
		"":                                      false,
	} {
		if got := IsUID(s); got != want {
			t.Errorf("IsUID(%q) = %v, want %v", s, got, want)
		}
	}
}
