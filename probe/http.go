package probe

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// maxRespBodyLength is pkg/probe/http/http.go's limit on the response body kept as output
// (and pkg/kubelet/lifecycle/handlers.go's limit on the body a hook drains).
const maxRespBodyLength = 10 * 1 << 10

// Header is one entry of httpGet.httpHeaders.
type Header struct {
	Name, Value string
}

// HTTPRequest is an httpGet action with its port already resolved and its host defaulted to the
// pod IP, as pkg/probe/http/request.go::NewRequestForHTTPGetAction receives it.
type HTTPRequest struct {
	Scheme  string // "http" or "https" in any case; "" means http
	Host    string
	Port    int
	Path    string // as given in the spec (path and query); "" is the API default "/"
	Headers []Header
	// UserAgent is sent unless Headers has a User-Agent: "kube-probe/<major>.<minor>" for probes,
	// "kube-lifecycle/<major>.<minor>" for hooks. "" leaves Go's default.
	UserAgent string
}

// probeTransport is the transport of pkg/probe/http/http.go::NewWithTLSConfig, shared by every
// https probe as the kubelet shares its one (plain HTTP goes through plainHTTP): no certificate checks (a pod's certificate cannot be
// verified), no proxy from the environment, no Accept-Encoding, and no keep-alives, so no idle
// connection or goroutine outlives a probe. TLSHandshakeTimeout, IdleConnTimeout and HTTP/2 over
// TLS are what apimachinery's SetTransportDefaults adds.
var probeTransport = &http.Transport{
	Proxy:               nil,
	DialContext:         probeDialer.DialContext,
	TLSClientConfig:     &tls.Config{InsecureSkipVerify: true},
	TLSHandshakeTimeout: 10 * time.Second,
	IdleConnTimeout:     90 * time.Second,
	DisableKeepAlives:   true,
	DisableCompression:  true,
	ForceAttemptHTTP2:   true,
}

var errTooManyRedirects = errors.New("stopped after 10 redirects")

// checkRedirect is pkg/probe/http/http.go::RedirectChecker(false): redirects are followed while
// the hostname stays the same; a redirect elsewhere is not followed and its 3xx response becomes
// the probe's (a Warning), so a probe cannot be bounced to an arbitrary host.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if req.URL.Hostname() != via[0].URL.Hostname() {
		return http.ErrUseLastResponse
	}
	if len(via) >= 10 {
		return errTooManyRedirects
	}
	return nil
}

// newRequest is NewRequestForHTTPGetAction and newProbeRequest (pkg/probe/http/request.go).
func newRequest(ctx context.Context, r HTTPRequest) (*http.Request, error) {
	scheme := strings.ToLower(r.Scheme)
	if scheme == "" {
		scheme = "http"
	}
	path := r.Path
	if path == "" {
		// The API default (pkg/apis/core/v1/defaults.go::SetDefaults_HTTPGetAction).
		path = "/"
	}
	// formatURL: a path that does not parse is still sent, as the kubelet's legacy behaviour.
	u, err := url.Parse(path)
	if err != nil {
		u = &url.URL{Path: path}
	}
	u.Scheme = scheme
	u.Host = net.JoinHostPort(r.Host, strconv.Itoa(r.Port))

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	headers := make(http.Header, len(r.Headers)+2)
	for _, h := range r.Headers {
		headers.Add(h.Name, h.Value)
	}
	if _, ok := headers["User-Agent"]; !ok && r.UserAgent != "" {
		headers.Set("User-Agent", r.UserAgent)
	}
	if _, ok := headers["Accept"]; !ok {
		headers.Set("Accept", "*/*")
	} else if headers.Get("Accept") == "" {
		// An explicitly empty Accept means: send none.
		headers.Del("Accept")
	}
	req.Header = headers
	req.Host = headers.Get("Host")
	return req, nil
}

// HTTP runs an httpGet probe (pkg/probe/http/http.go::DoHTTPProbe). ctx bounds the whole
// request including the body and should carry the probe's timeoutSeconds as its deadline.
//
//   - 200-299: Success, output the body (at most 10 KiB);
//   - 300-399 (a redirect to another host, or one without Location): Warning,
//     "Probe terminated redirects, Response body: <body>";
//   - any other status: Failure, "HTTP probe failed with statuscode: <code>";
//   - no response (refused, timeout, TLS, too many redirects): Failure with the error text, e.g.
//     `Get "http://10.1.2.3:8080/": context deadline exceeded (Client.Timeout exceeded while
//     awaiting headers)`.
//
// The error result is non-nil only when the request cannot be built (with Unknown) or the body
// cannot be read (with Failure): the kubelet reports both as errored probes and ignores them.
func HTTP(ctx context.Context, r HTTPRequest) (Result, string, error) {
	client := http.Client{Transport: plainHTTP{}, CheckRedirect: checkRedirect}
	reqCtx := ctx
	if deadline, ok := ctx.Deadline(); ok {
		if timeout := time.Until(deadline); timeout > 0 {
			// The kubelet bounds probes with http.Client.Timeout, whose expiry reads
			// "(Client.Timeout exceeded while awaiting headers)" in the event; a context deadline
			// would only say "context deadline exceeded". So the deadline moves to the client, and
			// the request keeps ctx's cancellation only.
			client.Timeout = timeout
			var cancel context.CancelFunc
			reqCtx, cancel = context.WithCancel(context.WithoutCancel(ctx))
			defer cancel()
			stop := context.AfterFunc(ctx, func() {
				if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
					cancel()
				}
			})
			defer stop()
		}
	}

	req, err := newRequest(reqCtx, r)
	if err != nil {
		return Unknown, "", err
	}
	res, err := client.Do(req)
	if err != nil {
		// The kubelet turns every transport error into a failure so that timeouts count.
		return Failure, err.Error(), nil
	}
	defer res.Body.Close()

	buf := bodyBuffers.Get().(*[maxRespBodyLength]byte)
	defer bodyBuffers.Put(buf)
	n, err := readAtMost(res.Body, buf[:])
	if err != nil {
		// Unwrapped on purpose: the kubelet puts this error as is into the "errored" event.
		return Failure, "", err
	}
	body := string(buf[:n])

	if res.StatusCode >= http.StatusOK && res.StatusCode < http.StatusBadRequest {
		if res.StatusCode >= http.StatusMultipleChoices {
			return Warning, fmt.Sprintf("Probe terminated redirects, Response body: %v", body), nil
		}
		return Success, body, nil
	}
	// The body stays out of the message, as upstream (kubernetes/kubernetes#99425).
	return Failure, fmt.Sprintf("HTTP probe failed with statuscode: %d", res.StatusCode), nil
}

// bodyBuffers saves a 10 KiB allocation per probe run.
var bodyBuffers = sync.Pool{New: func() any { return new([maxRespBodyLength]byte) }}

// readAtMost fills buf from r until EOF or buf is full, like k8s.io/utils/io.ReadAtMost: a body
// longer than buf is truncated without error, any other read error is returned.
func readAtMost(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// HTTPHook runs an httpGet lifecycle handler (PostStart or PreStop) as
// pkg/kubelet/lifecycle/handlers.go::runHTTPHandler does. r.UserAgent should be
// "kube-lifecycle/<major>.<minor>". The response status is not looked at: only a request that
// gets no response fails the hook, and the error is returned unwrapped because the kubelet
// quotes it in the hook's failure message. ctx bounds the request (the kubelet sets no timeout;
// PreStop is bounded by the grace period).
//
// If an https request reached a plain-HTTP server, the request is retried over http without its
// Authorization header; fellBackToHTTP reports that the retry succeeded, for the kubelet's
// LifecycleHTTPFallback event ("request to HTTPS lifecycle hook %s got HTTP response, retry
// with HTTP succeeded", with host:port).
func HTTPHook(ctx context.Context, r HTTPRequest) (fellBackToHTTP bool, err error) {
	req, err := newRequest(ctx, r)
	if err != nil {
		return false, err
	}
	// The kubelet's insecureContainerLifecycleHTTPClient (pkg/kubelet/kubelet.go): default
	// transport settings (keep-alives, compression, no proxy) apart from certificate checks.
	// Hooks are rare, so a transport of their own, closed afterwards, costs little and leaves
	// no idle connection behind.
	transport := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, CheckRedirect: checkRedirect}

	res, err := client.Do(req)
	discardBody(res)
	if isHTTPResponseError(err) {
		retry := req.Clone(ctx)
		retry.URL.Scheme = "http"
		retry.Header.Del("Authorization")
		res, httpErr := client.Do(retry)
		discardBody(res)
		if httpErr == nil {
			return true, nil
		}
	}
	return false, err
}

// discardBody is handlers.go::discardHTTPRespBody: drain a small body so the connection could
// be reused, then close it.
func discardBody(res *http.Response) {
	if res == nil {
		return
	}
	defer res.Body.Close()
	if res.ContentLength <= maxRespBodyLength {
		_, _ = io.Copy(io.Discard, &io.LimitedReader{R: res.Body, N: maxRespBodyLength})
	}
}

// isHTTPResponseError is handlers.go::isHTTPResponseError: an https request answered in plain
// HTTP.
func isHTTPResponseError(err error) bool {
	var urlErr *url.Error
	if !errors.As(err, &urlErr) {
		return false
	}
	return strings.Contains(urlErr.Err.Error(), "server gave HTTP response to HTTPS client")
}
