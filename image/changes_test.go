package image

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestParseChanges(t *testing.T) {
	ports := func(ps ...string) map[string]struct{} {
		m := map[string]struct{}{}
		for _, p := range ps {
			m[p] = struct{}{}
		}
		return m
	}
	tests := []struct {
		name    string
		changes []string
		want    v1.Config
	}{
		{"none", nil, v1.Config{}},
		{"cmd exec", []string{`CMD ["/bin/app", "--flag", "a b"]`}, v1.Config{Cmd: []string{"/bin/app", "--flag", "a b"}}},
		{"cmd shell", []string{`CMD echo "hi $HOME"  >/dev/null`}, v1.Config{Cmd: []string{"/bin/sh", "-c", `echo "hi $HOME"  >/dev/null`}}},
		{"lowercase, padded", []string{"  cmd\t  echo hi  "}, v1.Config{Cmd: []string{"/bin/sh", "-c", "echo hi"}}},
		{"not JSON is shell", []string{`CMD [ -f /x ] && echo yes`}, v1.Config{Cmd: []string{"/bin/sh", "-c", `[ -f /x ] && echo yes`}}},
		{"cmd empty array", []string{`CMD ["a"]`, `CMD []`}, v1.Config{Cmd: []string{}}},
		{"cmd bare", []string{`CMD`}, v1.Config{Cmd: []string{}}},
		{"entrypoint exec", []string{`ENTRYPOINT ["/bin/app"]`}, v1.Config{Entrypoint: []string{"/bin/app"}}},
		{"entrypoint shell", []string{`Entrypoint exec /bin/app "$@"`}, v1.Config{Entrypoint: []string{"/bin/sh", "-c", `exec /bin/app "$@"`}}},
		{"entrypoint then cmd", []string{`ENTRYPOINT ["/bin/app"]`, `CMD ["serve"]`},
			v1.Config{Entrypoint: []string{"/bin/app"}, Cmd: []string{"serve"}}},
		{"cmd then entrypoint keeps cmd", []string{`CMD ["serve"]`, `ENTRYPOINT ["/bin/app"]`},
			v1.Config{Entrypoint: []string{"/bin/app"}, Cmd: []string{"serve"}}},
		{"env forms", []string{`ENV A=1 B="v 2" C='$A' D=$A E=\$A`, `ENV F  two  words `},
			v1.Config{Env: []string{"A=1", "B=v 2", "C=$A", "D=", "E=$A", "F=two  words"}}},
		{"env expands from earlier ENVs", []string{`ENV PATH=/usr/bin A=x`, `ENV PATH=/opt/bin:$PATH B=${A}y C=${NOPE:-dflt} D=${A:+set} E="${A}-$A" F=${A}${A}`},
			v1.Config{Env: []string{"PATH=/opt/bin:/usr/bin", "A=x", "B=xy", "C=dflt", "D=set", "E=x-x", "F=xx"}}},
		{"later env overrides in place", []string{`ENV A=1 B=2`, `env A=3`, `ENV B 4`},
			v1.Config{Env: []string{"A=3", "B=4"}}},
		{"env sees values from before the instruction", []string{`ENV A=old`, `ENV A=new B=$A`},
			v1.Config{Env: []string{"A=new", "B=old"}}},
		{"env empty value", []string{`ENV A= B=""`}, v1.Config{Env: []string{"A=", "B="}}},
		{"workdir", []string{`WORKDIR /srv`, `WORKDIR app`, `WORKDIR ../data/./x/`}, v1.Config{WorkingDir: "/srv/data/x"}},
		{"workdir relative first, quoted", []string{`WORKDIR "my dir"`}, v1.Config{WorkingDir: "/my dir"}},
		{"workdir expanded", []string{`ENV D=/data`, `WORKDIR $D/x`}, v1.Config{Env: []string{"D=/data"}, WorkingDir: "/data/x"}},
		{"user", []string{`USER 1000:1000`}, v1.Config{User: "1000:1000"}},
		{"user name", []string{`ENV U=nobody`, `user ${U}`}, v1.Config{Env: []string{"U=nobody"}, User: "nobody"}},
		{"stopsignal name", []string{`STOPSIGNAL SIGQUIT`}, v1.Config{StopSignal: "SIGQUIT"}},
		{"stopsignal short, number", []string{`STOPSIGNAL int`, `STOPSIGNAL 9`}, v1.Config{StopSignal: "9"}},
		{"stopsignal short", []string{`STOPSIGNAL usr1`}, v1.Config{StopSignal: "usr1"}},
		{"expose", []string{`EXPOSE 80/tcp 53/UDP 8080`, `EXPOSE 9000-9002/sctp`, `EXPOSE 80`},
			v1.Config{ExposedPorts: ports("80/tcp", "53/udp", "8080/tcp", "9000/sctp", "9001/sctp", "9002/sctp")}},
		{"expose variable with words", []string{`ENV PORTS="443 8443/udp"`, `EXPOSE $PORTS`},
			v1.Config{Env: []string{"PORTS=443 8443/udp"}, ExposedPorts: ports("443/tcp", "8443/udp")}},
		{"label", []string{`LABEL a=1 "b c"="d e" org.opencontainers.image.title=app`, `LABEL a 2 3`},
			v1.Config{Labels: map[string]string{"a": "2 3", "b c": "d e", "org.opencontainers.image.title": "app"}}},
		{"escapes in double quotes", []string{`ENV A="q\"\$\\\n"`}, v1.Config{Env: []string{`A=q"$\\n`}}},
		{"lone dollar", []string{`ENV A=$ B=a$`}, v1.Config{Env: []string{"A=$", "B=a$"}}},
	}
	for _, tt := range tests {
		got, err := ParseChanges(tt.changes)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: ParseChanges(%q)\n got %#v\nwant %#v", tt.name, tt.changes, got, tt.want)
		}
	}
}

func TestParseChangesErrors(t *testing.T) {
	tests := []struct {
		change string
		want   string // in the error
	}{
		{"", "empty instruction"},
		{"   ", "empty instruction"},
		{"RUN echo hi", "RUN is not supported"},
		{"VOLUME /data", "VOLUME is not supported"},
		{"HEALTHCHECK NONE", "HEALTHCHECK is not supported"},
		{"# a comment", `# is not supported`},
		{"FROM scratch", "FROM is not supported"},
		{"CMD\necho hi", "one line"},
		{"CMD echo \x00", "NUL"},
		{"CMD \xff", "UTF-8"},
		{`CMD ["a", 1]`, "only strings"},
		{`ENTRYPOINT ["a", null]`, "only strings"},
		{`CMD ["a\u0000b"]`, "NUL"},
		{"ENV", "at least one argument"},
		{"ENV A", "two arguments"},
		{"ENV A=1 B", `no = in "B"`},
		{"ENV =1", "blank"},
		{`ENV A="unterminated`, "unterminated double quote"},
		{`ENV A='unterminated`, "unterminated single quote"},
		{`ENV A=${B`, "missing '}'"},
		{`ENV A=${}`, "bad substitution"},
		{`ENV A=${B#x}`, "unsupported substitution"},
		{`ENV A=${B/x/y}`, "unsupported substitution"},
		{`ENV A=${B:=x}`, "unsupported substitution"},
		{`ENV A="${B:?must be set}"`, "B: must be set"},
		{`ENV A=${B?}`, "B: is not allowed to be unset"},
		{"LABEL", "at least one argument"},
		{"LABEL k", "two arguments"},
		{`LABEL ""=v`, "blank"},
		{"WORKDIR", "exactly one argument"},
		{`WORKDIR ""`, "empty"},
		{"USER", "exactly one argument"},
		{"STOPSIGNAL", "exactly one argument"},
		{"STOPSIGNAL SIGNOPE", "invalid signal"},
		{"STOPSIGNAL 0", "invalid signal"},
		{"STOPSIGNAL 65", "invalid signal"},
		{"STOPSIGNAL 09", "invalid signal"},
		{"STOPSIGNAL TERM KILL", "invalid signal"},
		{"EXPOSE", "at least one argument"},
		{"EXPOSE abc", `port "abc"`},
		{"EXPOSE 0", `port "0"`},
		{"EXPOSE 65536", `port "65536"`},
		{"EXPOSE 80/icmp", `protocol "icmp"`},
		{"EXPOSE 8080:80", "host ports"},
		{"EXPOSE 90-80", `port "90-80"`},
		{"EXPOSE -80", `port "-80"`},
		{"EXPOSE /tcp", `port "/tcp"`},
		{"CMD " + strings.Repeat("x", maxChangeLen), "longer than 64 KiB"},
	}
	for _, tt := range tests {
		_, err := ParseChanges([]string{"USER root", tt.change})
		if !errors.Is(err, ErrInvalidChange) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseChanges(%q) = %v, want ErrInvalidChange with %q", tt.change, err, tt.want)
			continue
		}
		// The error names the change (shortened when long), not the valid one before it.
		if q := quoteChange(tt.change); !strings.Contains(err.Error(), q) || strings.Contains(err.Error(), "USER root") || len(err.Error()) > 1000 {
			t.Errorf("ParseChanges(%q): error %q does not name the change as %s", tt.change, err, q)
		}
	}
}

// Variable expansion is bounded however the changes multiply it.
func TestParseChangesLimits(t *testing.T) {
	big := "ENV A=" + strings.Repeat("x", 60<<10)
	if _, err := ParseChanges([]string{big, "ENV B=$A$A"}); err == nil || !strings.Contains(err.Error(), "expands to more than 64 KiB") {
		t.Errorf("word bomb: %v", err)
	}
	changes := []string{big}
	for i := 0; i < 20; i++ {
		changes = append(changes, "ENV B=$A")
	}
	if _, err := ParseChanges(changes); err == nil || !strings.Contains(err.Error(), "variables expand to more than") {
		t.Errorf("expansion budget: %v", err)
	}
	var many []string
	for i := 0; i < 20; i++ {
		many = append(many, "LABEL a="+strings.Repeat("y", 60<<10))
	}
	if _, err := ParseChanges(many); !errors.Is(err, ErrInvalidChange) || !strings.Contains(err.Error(), "in all") {
		t.Errorf("total size: %v", err)
	}
	// Every port of every protocol still makes a config the store can read.
	cfg, err := ParseChanges([]string{"EXPOSE 1-65535/tcp 1-65535/udp 1-65535/sctp"})
	if err != nil || len(cfg.ExposedPorts) != 3*65535 {
		t.Errorf("all ports: %d %v", len(cfg.ExposedPorts), err)
	}
	if _, err := ParseChanges([]string{"EXPOSE" + strings.Repeat(" 1-65535", 4)}); err == nil || !strings.Contains(err.Error(), "ports in all") {
		t.Errorf("repeated ranges: %v", err)
	}
}

func TestSplitWords(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"  a  b ", []string{"a", "b"}},
		{`a="x y" b='p q' c=\ d`, []string{`a="x y"`, `b='p q'`, `c=\ d`}},
		{`""  a`, []string{`""`, "a"}},
		{`a="x\" y"`, []string{`a="x\" y"`}},
		{`a='x\' y`, []string{`a='x\'`, "y"}},
		{`a\`, []string{"a"}},
	}
	for _, tt := range tests {
		if got := splitWords(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("splitWords(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// An import with changes: the config comes back through Image.Config (what pods run), Get,
// and Inspect; a bad change writes nothing.
func TestImportChanges(t *testing.T) {
	needRoot(t)
	hermeticAuth(t)
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "bin"), 0o755)
	os.WriteFile(filepath.Join(src, "bin", "app"), []byte("#!/bin/sh\n"), 0o755)
	s := newStore(t)
	ctx := context.Background()
	img, err := s.Import(ctx, src, "withcfg:v1",
		`ENTRYPOINT ["/bin/app"]`, `CMD serve --port 80`, `ENV A=1 B="two words"`, `ENV PATH /bin`,
		`WORKDIR /srv`, `USER 1000:1000`, `STOPSIGNAL SIGQUIT`, `EXPOSE 80/tcp`, `LABEL team=x`)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Entrypoint: []string{"/bin/app"},
		Cmd:        []string{"/bin/sh", "-c", "serve --port 80"},
		Env:        []string{"A=1", "B=two words", "PATH=/bin"},
		WorkingDir: "/srv", User: "1000:1000", StopSignal: "SIGQUIT",
	}
	if !reflect.DeepEqual(img.Config, want) {
		t.Errorf("Import: Config %+v, want %+v", img.Config, want)
	}
	got, err := s.Get(ctx, "withcfg:v1", PullNever, PullOptions{})
	if err != nil || !reflect.DeepEqual(got.Config, want) {
		t.Errorf("Get: %+v %v", got, err)
	}
	raw, err := s.Inspect("withcfg:v1")
	if err != nil {
		t.Fatal(err)
	}
	var insp []struct {
		Config struct {
			ExposedPorts map[string]struct{}
			Labels       map[string]string
			User         string
		}
	}
	if err := json.Unmarshal(raw, &insp); err != nil || len(insp) != 1 {
		t.Fatalf("inspect: %v %s", err, raw)
	}
	c := insp[0].Config
	if _, ok := c.ExposedPorts["80/tcp"]; !ok || c.Labels["team"] != "x" || c.User != "1000:1000" {
		t.Errorf("inspect config: %+v", c)
	}

	// Without changes the config is empty, as before.
	plain, err := s.Import(ctx, src, "plain")
	if err != nil || !reflect.DeepEqual(plain.Config, Config{}) || plain.ID == img.ID {
		t.Errorf("plain import: %+v %v", plain, err)
	}

	before, _ := s.List()
	if _, err := s.Import(ctx, src, "bad", "CMD ok", "VOLUME /data"); !errors.Is(err, ErrInvalidChange) || !strings.Contains(err.Error(), `"VOLUME /data"`) {
		t.Errorf("bad change: %v", err)
	}
	if after, _ := s.List(); len(after) != len(before) {
		t.Errorf("a bad change added an image: %+v", after)
	}
	if _, err := s.Get(ctx, "bad", PullNever, PullOptions{}); err == nil {
		t.Error("a bad change left an image")
	}
}

// No input panics; `go test -fuzz FuzzParseChanges ./image` explores further.
func FuzzParseChanges(f *testing.F) {
	for _, s := range []string{`ENV A="x y" B=${A:-z}`, `CMD ["a"]`, `EXPOSE 1-3/udp`, `LABEL a b`, `WORKDIR ${X:+a}/b`, `ENV A=${B:?x}`, `STOPSIGNAL 9`} {
		f.Add("ENV X=1 Y=\"2 3\"", s)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ParseChanges([]string{a, b})
	})
}
