package state

import (
	"crypto/rand"
	"fmt"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// The IDs below are all derived from a pod's namespace, name and uid, so that whatever a pod
// left on the host can be traced back to it after a crash (garbage collection parses them).
// Namespaces and names are DNS labels or subdomains: they hold no "_".

// NewUID returns a random RFC 4122 version 4 UUID, the form Kubernetes uses for metadata.uid.
func NewUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// IsUID reports whether s has the form of a pod uid: 8-4-4-4-12 lowercase hex digits.
// A loop, not a regular expression: this package is in every minipod process, and compiling
// one at start cost each of them (container inits included) 400 allocations.
func IsUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := range len(s) {
		switch c := s[i]; i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// PodKey names a pod's state directory: "<namespace>_<name>".
func PodKey(namespace, name string) string { return namespace + "_" + name }

// ParsePodKey is PodKey's inverse.
func ParsePodKey(key string) (namespace, name string, ok bool) {
	namespace, name, ok = strings.Cut(key, "_")
	return namespace, name, ok && namespace != "" && name != "" && !strings.Contains(name, "_")
}

// LogDirName follows the kubelet's /var/log/pods/<namespace>_<name>_<uid> convention.
func LogDirName(namespace, name, uid string) string { return namespace + "_" + name + "_" + uid }

// ParseLogDirName is LogDirName's inverse.
func ParseLogDirName(dir string) (namespace, name, uid string, ok bool) {
	parts := strings.Split(dir, "_")
	if len(parts) != 3 || !IsUID(parts[2]) {
		return "", "", "", false
	}
	return parts[0], parts[1], parts[2], true
}

// SandboxID names a pod's network sandbox (its pinned netns, veth and address): the uid as
// plain hex.
func SandboxID(uid string) string { return strings.ReplaceAll(uid, "-", "") }

// ContainerID names one instance (one attempt) of a container of a pod:
// "<uid>-<container name>-<attempt>". It is the libcontainer ID and what the status reports
// as containerID; unique across pods and attempts.
func ContainerID(uid, name string, attempt int32) string {
	return uid + "-" + name + "-" + strconv.Itoa(int(attempt))
}

// ParseContainerID is ContainerID's inverse.
func ParseContainerID(id string) (uid, name string, attempt int32, ok bool) {
	if len(id) < 36+4 || !IsUID(id[:36]) || id[36] != '-' {
		return "", "", 0, false
	}
	rest := id[37:]
	i := strings.LastIndexByte(rest, '-')
	if i <= 0 {
		return "", "", 0, false
	}
	n, err := strconv.ParseInt(rest[i+1:], 10, 32)
	if err != nil || n < 0 || len(validation.IsDNS1123Label(rest[:i])) != 0 {
		return "", "", 0, false
	}
	return id[:36], rest[:i], int32(n), true
}
