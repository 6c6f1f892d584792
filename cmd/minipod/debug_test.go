package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/monitorapi"
)

func TestDebugContainer(t *testing.T) {
	o := debugOptions{image: "busybox:1.36", interactive: true, tty: true, target: "app", profile: profileGeneral,
		env: map[string]string{"B": "2", "A": "1"}}
	ec := debugContainer(o, "debugger-abcde", []string{"sh", "-c", "ps"})
	b, err := json.Marshal(ec)
	if err != nil {
		t.Fatal(err)
	}
	// What kubectl debug -it --image=busybox:1.36 --target=app --env A=1,B=2 -- sh -c ps sends
	// (generateDebugContainer with the general profile); imagePullPolicy is left to the server.
	want := `{"name":"debugger-abcde","image":"busybox:1.36","command":["sh","-c","ps"],"env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],` +
		`"resources":{},"terminationMessagePolicy":"File","stdin":true,"tty":true,` +
		`"securityContext":{"capabilities":{"add":["SYS_PTRACE"]}},"targetContainerName":"app"}`
	if string(b) != want {
		t.Errorf("sent\n%s\nwant\n%s", b, want)
	}
	// The API server takes it: decoded, defaulted and valid in a pod with container app.
	dec, err := api.DecodeEphemeralContainer(b, 0)
	if err != nil {
		t.Fatal(err)
	}
	p, err := api.Load([]byte("apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers: [{name: app, image: busybox}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	n := *p
	n.Spec.EphemeralContainers = []api.EphemeralContainer{*dec}
	if err := api.ValidateEphemeralContainersUpdate(&n, p); err != nil {
		t.Errorf("the API server would refuse it: %v", err)
	}

	o.argsOnly = true
	if ec := debugContainer(o, "d", []string{"x"}); len(ec.Command) != 0 || ec.Args[0] != "x" {
		t.Errorf("--arguments-only: command %q args %q", ec.Command, ec.Args)
	}
}

func TestDebugProfiles(t *testing.T) {
	sc := func(p string) string {
		ec := debugContainer(debugOptions{image: "busybox", profile: p}, "d", nil)
		b, _ := json.Marshal(ec.SecurityContext)
		return string(b)
	}
	for p, want := range map[string]string{
		profileLegacy:     "null",
		profileGeneral:    `{"capabilities":{"add":["SYS_PTRACE"]}}`,
		profileBaseline:   "null",
		profileRestricted: `{"capabilities":{"drop":["ALL"]},"runAsNonRoot":true,"allowPrivilegeEscalation":false,"seccompProfile":{"type":"RuntimeDefault"}}`,
		profileNetadmin:   `{"capabilities":{"add":["NET_ADMIN","NET_RAW"]}}`,
		profileSysadmin:   `{"privileged":true}`,
	} {
		if got := sc(p); got != want {
			t.Errorf("profile %s: securityContext %s, want %s", p, got, want)
		}
	}
}

func TestDebugValidate(t *testing.T) {
	for _, tc := range []struct {
		o             debugOptions
		attachChanged bool
		want          string
	}{
		{debugOptions{image: "busybox", profile: "general"}, false, ""},
		{debugOptions{image: "rootfs:/var/lib/minipod/rootfs/busybox", profile: "general", interactive: true, tty: true}, false, ""},
		{debugOptions{profile: "general"}, false, "you must specify --image when not using --copy-to."},
		{debugOptions{profile: "general", attach: true}, true, "you must specify --container or create a new container using --image in order to attach."},
		{debugOptions{image: "Bad Image", profile: "general"}, false, `invalid image name "Bad Image": invalid reference format`},
		{debugOptions{image: "busybox", profile: "general", pullPolicy: "Sometimes"}, false, "invalid image pull policy: Sometimes"},
		{debugOptions{image: "busybox", profile: "general", tty: true}, false, "-i/--stdin is required for containers with -t/--tty=true"},
		{debugOptions{image: "busybox", profile: "mine"}, false, "unknown profile: mine"},
	} {
		err := tc.o.validate(tc.attachChanged)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: %v", tc.o, err)
		case tc.want != "" && (err == nil || err.Error() != tc.want):
			t.Errorf("%+v: error %v, want %q", tc.o, err, tc.want)
		}
	}
}

func TestDebugContainerName(t *testing.T) {
	p := &api.Pod{Spec: api.PodSpec{Containers: []api.Container{{Name: "app"}}}}
	seen := map[string]bool{}
	for range 50 {
		n := debugContainerName(p)
		rest, ok := strings.CutPrefix(n, "debugger-")
		if !ok || len(rest) != 5 || strings.Trim(rest, "bcdfghjklmnpqrstvwxz2456789") != "" {
			t.Fatalf("name %q", n)
		}
		seen[n] = true
		p.Spec.EphemeralContainers = append(p.Spec.EphemeralContainers, api.EphemeralContainer{Container: api.Container{Name: n}})
	}
	if len(seen) != 50 {
		t.Errorf("%d distinct names in 50, want all distinct from the pod's", len(seen))
	}
}

func TestInvalidPodMessage(t *testing.T) {
	one := &monitorapi.Error{Kind: monitorapi.Invalid, Causes: []monitorapi.Cause{{Field: "spec.ephemeralContainers[1].name", Message: `Duplicate value: "d"`}}}
	if got, want := invalidPodMessage("web", one), `The Pod "web" is invalid: spec.ephemeralContainers[1].name: Duplicate value: "d"`+"\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	two := &monitorapi.Error{Kind: monitorapi.Invalid, Causes: []monitorapi.Cause{{Field: "a", Message: "x"}, {Message: "Forbidden: y"}}}
	if got, want := invalidPodMessage("web", two), "The Pod \"web\" is invalid: \n* a: x\n* Forbidden: y\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
