package image

// Dockerfile instructions for an import's image config, as `docker import --change` and
// `podman import --change` take them.

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"
)

// ErrInvalidChange: an import's change is not a supported, well-formed Dockerfile instruction.
var ErrInvalidChange = errors.New("invalid change")

// Limits on what changes may cost: they come from a command line or an API caller, and
// variable expansion ($A$A$A...) could otherwise multiply them.
const (
	maxChangeLen    = 64 << 10 // one instruction, and any one word it expands to
	maxChangesLen   = 1 << 20  // all instructions together
	maxExpandedLen  = 1 << 20  // all variable values substituted, together
	maxChangeConfig = 4 << 20  // the resulting config as JSON; the store reads configs up to maxJSONBlob
	maxExposed      = 3 << 16  // ports EXPOSE may name in all, repeats included: each one once per protocol
)

// ParseChanges builds the config of an imported image from Dockerfile instructions, one per
// change, applied in order as `docker import --change` applies them: CMD and ENTRYPOINT (JSON
// array, or shell form run by /bin/sh -c), ENV and LABEL (name=value..., or the legacy
// "name value"), WORKDIR (relative to the previous one), USER, STOPSIGNAL and EXPOSE
// (PORT[-END][/tcp|udp|sctp]). Instruction names are case-insensitive. As in a Dockerfile,
// ENV, LABEL, WORKDIR, USER, STOPSIGNAL and EXPOSE remove quotes and backslash escapes and
// expand $NAME, ${NAME}, ${NAME:-word}, ${NAME:+word} and ${NAME:?message} from the ENVs
// before them (an import has no base image, so nothing else is set). Anything else is
// refused with an error that wraps ErrInvalidChange and quotes the change.
func ParseChanges(changes []string) (v1.Config, error) {
	st := changeState{env: map[string]int{}}
	total := 0
	for _, c := range changes {
		total += len(c)
		if total > maxChangesLen {
			return v1.Config{}, fmt.Errorf("%w: more than %d KiB of changes in all", ErrInvalidChange, maxChangesLen>>10)
		}
		if err := st.apply(c); err != nil {
			return v1.Config{}, fmt.Errorf("%w %s: %w", ErrInvalidChange, quoteChange(c), err)
		}
	}
	if b, err := json.Marshal(st.cfg); err != nil || len(b) > maxChangeConfig {
		return v1.Config{}, fmt.Errorf("%w: the changes make an image config over %d MiB", ErrInvalidChange, maxChangeConfig>>20)
	}
	return st.cfg, nil
}

// quoteChange quotes a change for an error message, shortened: it may be 64 KiB long.
func quoteChange(c string) string {
	const limit = 100
	if len(c) <= limit {
		return strconv.Quote(c)
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(c[cut]) {
		cut--
	}
	return strconv.Quote(c[:cut]) + "..."
}

type changeState struct {
	cfg      v1.Config
	env      map[string]int // ENV name → index in cfg.Env, so a later ENV replaces in place
	expanded int            // bytes of variable values substituted so far
	exposed  int            // ports named by EXPOSE so far, repeats included
}

const supportedChanges = "CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, WORKDIR"

func (st *changeState) apply(change string) error {
	if len(change) > maxChangeLen {
		return fmt.Errorf("longer than %d KiB", maxChangeLen>>10)
	}
	if !utf8.ValidString(change) {
		return errors.New("not valid UTF-8")
	}
	// Docker joins changes with newlines into one Dockerfile; here each is one instruction.
	if strings.ContainsAny(change, "\n\r\x00") {
		return errors.New("a change is one instruction on one line (it contains a newline or NUL)")
	}
	line := strings.TrimSpace(change)
	instr, rest := line, ""
	if i := strings.IndexFunc(line, unicode.IsSpace); i >= 0 {
		instr, rest = line[:i], strings.TrimLeftFunc(line[i:], unicode.IsSpace)
	}
	switch instr = strings.ToUpper(instr); instr {
	case "":
		return errors.New("empty instruction")
	case "CMD":
		args, err := execOrShell(rest)
		if err != nil {
			return err
		}
		st.cfg.Cmd = args
	case "ENTRYPOINT":
		args, err := execOrShell(rest)
		if err != nil {
			return err
		}
		// Unlike a Dockerfile's ENTRYPOINT, this keeps the Cmd. Docker's ENTRYPOINT drops
		// only a Cmd not set by an earlier CMD of the same build (the base image's), and an
		// import has no base image; buildah/podman import never drop it. So CMD and
		// ENTRYPOINT given together are both kept, in either order.
		st.cfg.Entrypoint = args
	case "ENV":
		kvs, err := st.keyValues(instr, rest)
		if err != nil {
			return err
		}
		for _, kv := range kvs {
			if strings.Contains(kv[0], "=") {
				return fmt.Errorf("ENV: name %q contains =", kv[0])
			}
			e := kv[0] + "=" + kv[1]
			if i, ok := st.env[kv[0]]; ok {
				st.cfg.Env[i] = e
			} else {
				st.env[kv[0]] = len(st.cfg.Env)
				st.cfg.Env = append(st.cfg.Env, e)
			}
		}
	case "LABEL":
		kvs, err := st.keyValues(instr, rest)
		if err != nil {
			return err
		}
		if st.cfg.Labels == nil {
			st.cfg.Labels = map[string]string{}
		}
		for _, kv := range kvs {
			st.cfg.Labels[kv[0]] = kv[1]
		}
	case "WORKDIR":
		dir, err := st.oneWord(instr, rest)
		if err != nil {
			return err
		}
		if dir == "" {
			return errors.New("WORKDIR: the path is empty")
		}
		// As Docker: a relative WORKDIR is relative to the previous one.
		if !path.IsAbs(dir) {
			dir = path.Join("/", st.cfg.WorkingDir, dir)
		}
		st.cfg.WorkingDir = path.Clean(dir)
	case "USER":
		u, err := st.oneWord(instr, rest)
		if err != nil {
			return err
		}
		st.cfg.User = u
	case "STOPSIGNAL":
		sig, err := st.oneWord(instr, rest)
		if err != nil {
			return err
		}
		if !validSignal(sig) {
			return fmt.Errorf("STOPSIGNAL: invalid signal %q (a name such as SIGTERM or TERM, or a number 1-64)", sig)
		}
		st.cfg.StopSignal = sig
	case "EXPOSE":
		return st.expose(rest)
	default:
		return fmt.Errorf("%s is not supported (supported: %s)", instr, supportedChanges)
	}
	return nil
}

// execOrShell parses CMD and ENTRYPOINT arguments as Docker does: a JSON array of strings is
// the exec form; anything else, even text starting with "[" that is not valid JSON (`[ -f x ]
// && ...` is a shell command), is the shell form, run by /bin/sh -c. No arguments, or [],
// clear the field.
func execOrShell(rest string) ([]string, error) {
	if rest == "" {
		return []string{}, nil
	}
	if strings.HasPrefix(rest, "[") {
		var arr []any
		if json.Unmarshal([]byte(rest), &arr) == nil {
			args := make([]string, 0, len(arr))
			for _, a := range arr {
				s, ok := a.(string)
				if !ok {
					return nil, errors.New("a JSON array must contain only strings")
				}
				if strings.ContainsRune(s, 0) {
					return nil, errors.New("an argument contains NUL")
				}
				args = append(args, s)
			}
			return args, nil
		}
	}
	return []string{"/bin/sh", "-c", rest}, nil
}

// oneWord is the argument of WORKDIR, USER and STOPSIGNAL: the rest of the line, quotes
// removed and variables expanded, inner spaces kept.
func (st *changeState) oneWord(instr, rest string) (string, error) {
	if rest == "" {
		return "", fmt.Errorf("%s requires exactly one argument", instr)
	}
	w, _, err := st.expand(rest)
	if err != nil {
		return "", fmt.Errorf("%s: %w", instr, err)
	}
	return w, nil
}

// keyValues parses ENV and LABEL arguments as the Dockerfile parser does: "k=v k2=v2 ..." when
// the first word has an "=", else the legacy "k v", whose value is the rest of the line. Keys
// and values are expanded with the variables from before the instruction, so
// `ENV A=1 B=$A` sees the previous A, as in Docker.
func (st *changeState) keyValues(instr, rest string) ([][2]string, error) {
	words := splitWords(rest)
	if len(words) == 0 {
		return nil, fmt.Errorf("%s requires at least one argument", instr)
	}
	var raw [][2]string
	if !strings.Contains(words[0], "=") {
		i := strings.IndexFunc(rest, unicode.IsSpace)
		if i < 0 {
			return nil, fmt.Errorf("%s must have two arguments (NAME VALUE) or be NAME=VALUE...", instr)
		}
		raw = append(raw, [2]string{rest[:i], strings.TrimLeftFunc(rest[i:], unicode.IsSpace)})
	} else {
		for _, w := range words {
			k, v, ok := strings.Cut(w, "=")
			if !ok {
				return nil, fmt.Errorf("%s: no = in %q (the form is NAME=VALUE...)", instr, w)
			}
			raw = append(raw, [2]string{k, v})
		}
	}
	out := make([][2]string, 0, len(raw))
	for _, kv := range raw {
		k, _, err := st.expand(kv[0])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", instr, err)
		}
		if k == "" {
			return nil, fmt.Errorf("%s: a name cannot be blank", instr)
		}
		v, _, err := st.expand(kv[1])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", instr, err)
		}
		out = append(out, [2]string{k, v})
	}
	return out, nil
}

// expose adds EXPOSE's ports. As in Docker, each argument is expanded and then split at
// unquoted spaces (EXPOSE $PORTS), and a range exposes each of its ports.
func (st *changeState) expose(rest string) error {
	fields := strings.Fields(rest)
	if len(fields) == 0 {
		return errors.New("EXPOSE requires at least one argument")
	}
	for _, f := range fields {
		_, specs, err := st.expand(f)
		if err != nil {
			return fmt.Errorf("EXPOSE: %w", err)
		}
		for _, spec := range specs {
			proto, lo, hi, err := parsePortSpec(spec)
			if err != nil {
				return fmt.Errorf("EXPOSE: %w", err)
			}
			// Ranges repeated in one 64 KiB change could otherwise cost billions of steps.
			if st.exposed += hi - lo + 1; st.exposed > maxExposed {
				return fmt.Errorf("EXPOSE: more than %d ports in all", maxExposed)
			}
			if st.cfg.ExposedPorts == nil {
				st.cfg.ExposedPorts = map[string]struct{}{}
			}
			for p := lo; p <= hi; p++ {
				st.cfg.ExposedPorts[strconv.Itoa(p)+"/"+proto] = struct{}{}
			}
		}
	}
	return nil
}

// parsePortSpec parses PORT[-END][/PROTO]. Docker also takes IP:HOSTPORT:PORT here and drops
// all but PORT; publishing belongs to the pod, so that form is refused rather than ignored.
func parsePortSpec(spec string) (proto string, lo, hi int, err error) {
	port, proto, _ := strings.Cut(spec, "/")
	if proto = strings.ToLower(proto); proto == "" {
		proto = "tcp"
	}
	if proto != "tcp" && proto != "udp" && proto != "sctp" {
		return "", 0, 0, fmt.Errorf("port %q: protocol %q is not tcp, udp or sctp", spec, proto)
	}
	if strings.Contains(port, ":") {
		return "", 0, 0, fmt.Errorf("port %q: only PORT[-END][/PROTO]; host ports are not part of an image", spec)
	}
	first, last, isRange := strings.Cut(port, "-")
	if lo, err = portNumber(first); err == nil {
		hi = lo
		if isRange {
			hi, err = portNumber(last)
		}
	}
	if err != nil || hi < lo {
		return "", 0, 0, fmt.Errorf("port %q: not a port (1-65535) or range of ports", spec)
	}
	return proto, lo, hi, nil
}

func portNumber(s string) (int, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 {
		return 0, errors.New("not a port")
	}
	return int(n), nil
}

// validSignal accepts what the runtime's STOPSIGNAL handling (ocispec.StopSignal) understands:
// a signal name with or without SIG, any case, or a number 1-64.
func validSignal(s string) bool {
	name := strings.ToUpper(s)
	if unix.SignalNum("SIG"+strings.TrimPrefix(name, "SIG")) != 0 {
		return true
	}
	n, err := strconv.Atoi(s)
	return err == nil && n >= 1 && n <= 64 && strconv.Itoa(n) == s
}

// splitWords splits s at unquoted, unescaped whitespace, keeping the quotes and backslashes
// for expand (the Dockerfile parser's parseWords). "" is a word of its own.
func splitWords(s string) []string {
	var words []string
	var w strings.Builder
	inWord, quoted := false, false
	var quote rune
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		ch := rs[i]
		switch {
		case quote != 0:
			if ch == quote {
				quote = 0
			} else if ch == '\\' && quote == '"' && i+1 < len(rs) {
				w.WriteRune(ch)
				i++
				ch = rs[i]
			}
		case unicode.IsSpace(ch):
			if inWord && (quoted || w.Len() > 0) {
				words = append(words, w.String())
			}
			w.Reset()
			inWord, quoted = false, false
			continue
		case ch == '\'' || ch == '"':
			inWord, quoted, quote = true, true, ch
		case ch == '\\':
			inWord = true
			if i+1 == len(rs) {
				continue // a trailing backslash is dropped
			}
			w.WriteRune(ch)
			i++
			ch = rs[i]
		default:
			inWord = true
		}
		w.WriteRune(ch)
	}
	if inWord && (quoted || w.Len() > 0) {
		words = append(words, w.String())
	}
	return words
}

// expand processes a word as Docker's shell lexer does: single quotes keep everything,
// double quotes keep all but $ and the escapes \" \$ \\, a backslash outside quotes escapes
// any character, and variables are replaced from the ENVs set so far. It returns the result,
// and the result split at unquoted whitespace (for EXPOSE).
func (st *changeState) expand(word string) (string, []string, error) {
	l := lexer{src: []rune(word), st: st}
	out, words, err := l.until(eof)
	if err != nil {
		return "", nil, fmt.Errorf("%q: %w", word, err)
	}
	return out, words, nil
}

const eof rune = -1

type lexer struct {
	src []rune
	pos int
	st  *changeState
}

func (l *lexer) peek() rune {
	if l.pos >= len(l.src) {
		return eof
	}
	return l.src[l.pos]
}

func (l *lexer) next() rune {
	r := l.peek()
	if r != eof {
		l.pos++
	}
	return r
}

// wordSplitter collects the words of an expansion: whitespace from the source or from a
// variable's value separates words; text from quotes or escapes never does.
type wordSplitter struct {
	b     strings.Builder
	words []string
}

func (w *wordSplitter) char(ch rune) {
	if !unicode.IsSpace(ch) {
		w.b.WriteRune(ch)
	} else if w.b.Len() > 0 {
		w.words = append(w.words, w.b.String())
		w.b.Reset()
	}
}

func (w *wordSplitter) done() []string {
	if w.b.Len() > 0 {
		w.words = append(w.words, w.b.String())
	}
	return w.words
}

// until expands up to stop (eof: the end of the input), consuming stop.
func (l *lexer) until(stop rune) (string, []string, error) {
	var out strings.Builder
	var ws wordSplitter
	for {
		ch := l.peek()
		if ch == eof {
			break
		}
		if ch == stop {
			l.next()
			return out.String(), ws.done(), nil
		}
		switch ch {
		case '\'', '"':
			var s string
			var err error
			if ch == '\'' {
				s, err = l.singleQuote()
			} else {
				s, err = l.doubleQuote()
			}
			if err != nil {
				return "", nil, err
			}
			out.WriteString(s)
			ws.b.WriteString(s)
		case '$':
			s, err := l.dollar()
			if err != nil {
				return "", nil, err
			}
			out.WriteString(s)
			for _, r := range s {
				ws.char(r)
			}
		default:
			l.next()
			if ch == '\\' {
				if ch = l.next(); ch == eof {
					break // a trailing backslash is dropped
				}
				ws.b.WriteRune(ch)
			} else {
				ws.char(ch)
			}
			out.WriteRune(ch)
		}
		if out.Len() > maxChangeLen {
			return "", nil, fmt.Errorf("expands to more than %d KiB", maxChangeLen>>10)
		}
	}
	if stop != eof {
		return "", nil, fmt.Errorf("missing %q", stop)
	}
	return out.String(), ws.done(), nil
}

func (l *lexer) singleQuote() (string, error) {
	l.next()
	start := l.pos
	for {
		switch l.next() {
		case eof:
			return "", errors.New("unterminated single quote")
		case '\'':
			return string(l.src[start : l.pos-1]), nil
		}
	}
}

func (l *lexer) doubleQuote() (string, error) {
	var out strings.Builder
	l.next()
	for {
		switch ch := l.peek(); ch {
		case eof:
			return "", errors.New("unterminated double quote")
		case '"':
			l.next()
			return out.String(), nil
		case '$':
			s, err := l.dollar()
			if err != nil {
				return "", err
			}
			out.WriteString(s)
		default:
			l.next()
			if ch == '\\' {
				switch l.peek() {
				case eof:
					continue // dropped, then the missing quote is reported
				case '"', '$', '\\':
					ch = l.next()
				}
			}
			out.WriteRune(ch)
		}
		if out.Len() > maxChangeLen {
			return "", fmt.Errorf("expands to more than %d KiB", maxChangeLen>>10)
		}
	}
}

// dollar expands $NAME, ${NAME} and ${NAME[:]-+?word}. Pattern forms (${NAME#...}, %, /) are
// refused rather than taken literally.
func (l *lexer) dollar() (string, error) {
	l.next()
	if l.peek() != '{' {
		name := l.name()
		if name == "" {
			return "$", nil // a lone $ is literal
		}
		v, _, err := l.lookup(name)
		return v, err
	}
	l.next()
	switch l.peek() {
	case eof:
		return "", errors.New("missing '}'")
	case '{', '}', ':':
		return "", errors.New("bad substitution")
	}
	name := l.name()
	op := l.next()
	switch op {
	case '}':
		v, _, err := l.lookup(name)
		return v, err
	case eof:
		return "", errors.New("missing '}'")
	case ':', '-', '+', '?':
	default:
		return "", fmt.Errorf("unsupported substitution ${%s%c...} (only ${NAME}, ${NAME:-word}, ${NAME:+word}, ${NAME:?message})", name, op)
	}
	colon := op == ':'
	if colon {
		if op = l.next(); op != '-' && op != '+' && op != '?' {
			return "", fmt.Errorf("unsupported substitution ${%s:%c...}", name, op)
		}
	}
	word, _, err := l.until('}')
	if err != nil {
		return "", err
	}
	v, set, err := l.lookup(name)
	if err != nil {
		return "", err
	}
	empty := !set || colon && v == ""
	switch op {
	case '-':
		if empty {
			return word, nil
		}
		return v, nil
	case '+':
		if empty {
			return "", nil
		}
		return word, nil
	default: // '?'
		if !empty {
			return v, nil
		}
		if word == "" {
			word = "is not allowed to be unset"
			if set {
				word = "is not allowed to be empty"
			}
		}
		return "", fmt.Errorf("%s: %s", name, word)
	}
}

// name reads a variable name: letters, digits and _, or digits alone, or one special
// parameter character ($$, $@, ...), which no ENV can set, as in Docker.
func (l *lexer) name() string {
	start := l.pos
	ch := l.peek()
	switch {
	case ch == eof:
	case unicode.IsDigit(ch):
		for unicode.IsDigit(l.peek()) {
			l.next()
		}
	case strings.ContainsRune("@*#?-$!0", ch):
		l.next()
	default:
		for ch = l.peek(); ch != eof && (unicode.IsLetter(ch) || unicode.IsDigit(ch) || ch == '_'); ch = l.peek() {
			l.next()
		}
	}
	return string(l.src[start:l.pos])
}

// lookup finds an ENV set by an earlier change, charging its length to the expansion budget.
func (l *lexer) lookup(name string) (string, bool, error) {
	i, ok := l.st.env[name]
	if !ok {
		return "", false, nil
	}
	_, v, _ := strings.Cut(l.st.cfg.Env[i], "=")
	if l.st.expanded += len(v); l.st.expanded > maxExpandedLen {
		return "", false, fmt.Errorf("variables expand to more than %d KiB in all", maxExpandedLen>>10)
	}
	return v, true, nil
}
