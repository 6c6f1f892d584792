// Command grpchealth serves grpc.health.v1.Health/Check over plaintext HTTP/2 for minipod's
// end-to-end tests of gRPC probes. It answers SERVING for the whole server (service "") for
// -serving-for after start, then NOT_SERVING; any other service gets NOT_FOUND "unknown
// service", as grpc-go's health server answers. It uses the standard library only, so that it
// links statically and runs in a bare busybox root filesystem.
//
//	grpchealth -port 9090 -serving-for 10s
package main

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"
)

// grpc.health.v1.HealthCheckResponse.ServingStatus values.
const (
	statusServing    = 1
	statusNotServing = 2
)

// maxRequestSize bounds the request body read; a health check request is a service name.
const maxRequestSize = 1 << 20

func main() {
	port := flag.Int("port", 9090, "TCP port to listen on")
	servingFor := flag.Duration("serving-for", 0, "answer SERVING for this long after start, NOT_SERVING afterwards (0: always SERVING)")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("grpchealth: ")

	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true) // gRPC clients speak HTTP/2 with prior knowledge
	srv := &http.Server{
		Addr:      fmt.Sprintf(":%d", *port),
		Handler:   newHealthServer(time.Now(), *servingFor),
		Protocols: &protocols,
	}

	// As PID 1 of its container, the program must handle SIGTERM itself to stop gracefully.
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		sig := <-stop
		log.Printf("%v: shutting down", sig)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()

	log.Printf("serving grpc.health.v1.Health on :%d (SERVING for %v)", *port, describe(*servingFor))
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		log.Fatalf("serve on :%d: %v", *port, err)
	}
}

func describe(servingFor time.Duration) string {
	if servingFor == 0 {
		return "ever"
	}
	return servingFor.String()
}

// healthServer answers Health/Check; status changes once, from SERVING to NOT_SERVING.
type healthServer struct {
	start      time.Time
	servingFor time.Duration
	logOnce    sync.Once
}

func newHealthServer(start time.Time, servingFor time.Duration) *healthServer {
	return &healthServer{start: start, servingFor: servingFor}
}

func (h *healthServer) status(now time.Time) uint64 {
	if h.servingFor == 0 || now.Sub(h.start) < h.servingFor {
		return statusServing
	}
	h.logOnce.Do(func() { log.Printf("NOT_SERVING from now on") })
	return statusNotServing
}

func (h *healthServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
		http.Error(w, "not a gRPC request", http.StatusUnsupportedMediaType)
		return
	}
	service, method, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	switch {
	case service != "grpc.health.v1.Health":
		writeStatus(w, 12, "unknown service "+service) // UNIMPLEMENTED
		return
	case method != "Check":
		writeStatus(w, 12, fmt.Sprintf("unknown method %s for service %s", method, service))
		return
	}

	name, err := readCheckRequest(http.MaxBytesReader(w, r.Body, maxRequestSize))
	if err != nil {
		writeStatus(w, 13, "grpc: error unmarshalling request: "+err.Error()) // INTERNAL
		return
	}
	if name != "" {
		writeStatus(w, 5, "unknown service") // NOT_FOUND
		return
	}

	msg := binary.AppendUvarint([]byte{1 << 3}, h.status(time.Now())) // field 1, varint
	w.Header().Set("Content-Type", "application/grpc")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(binary.BigEndian.AppendUint32([]byte{0}, uint32(len(msg))))
	_, _ = w.Write(msg)
	w.Header().Set(http.TrailerPrefix+"Grpc-Status", "0")
}

// writeStatus ends a call without a response message: status in the headers ("trailers-only").
func writeStatus(w http.ResponseWriter, code int, message string) {
	w.Header().Set("Content-Type", "application/grpc")
	w.Header().Set("Grpc-Status", fmt.Sprint(code))
	w.Header().Set("Grpc-Message", message)
	w.WriteHeader(http.StatusOK)
}

// readCheckRequest decodes one gRPC message holding grpc.health.v1.HealthCheckRequest and
// returns its service (field 1); other fields are skipped.
func readCheckRequest(body io.Reader) (string, error) {
	var prefix [5]byte
	if _, err := io.ReadFull(body, prefix[:]); err != nil {
		return "", fmt.Errorf("read message header: %w", err)
	}
	if prefix[0] != 0 {
		return "", errors.New("compressed messages are not supported")
	}
	size := binary.BigEndian.Uint32(prefix[1:])
	if size > maxRequestSize {
		return "", fmt.Errorf("message of %d bytes is too large", size)
	}
	msg := make([]byte, size)
	if _, err := io.ReadFull(body, msg); err != nil {
		return "", fmt.Errorf("read message: %w", err)
	}

	var service string
	for len(msg) > 0 {
		tag, n := binary.Uvarint(msg)
		if n <= 0 {
			return "", errors.New("bad field tag")
		}
		msg = msg[n:]
		switch tag & 7 {
		case 0:
			_, n = binary.Uvarint(msg)
			if n <= 0 {
				return "", errors.New("bad varint")
			}
			msg = msg[n:]
		case 2:
			l, n := binary.Uvarint(msg)
			if n <= 0 || l > uint64(len(msg)-n) {
				return "", errors.New("bad length")
			}
			if tag>>3 == 1 {
				service = string(msg[n : n+int(l)])
			}
			msg = msg[n+int(l):]
		case 1, 5:
			size := 8
			if tag&7 == 5 {
				size = 4
			}
			if len(msg) < size {
				return "", errors.New("truncated field")
			}
			msg = msg[size:]
		default:
			return "", fmt.Errorf("unsupported wire type %d", tag&7)
		}
	}
	return service, nil
}
