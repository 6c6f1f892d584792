package apiserver

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/atomicfile"
)

// Authentication: every request comes from a root peer on the unix socket (SO_PEERCRED), or
// over HTTPS with a client certificate signed by minipod's CA (the TLS handshake refuses any
// other). There is one kind of user, an administrator, as with kubeadm's admin.conf; no
// authorization beyond that.

type ctxKey int

const (
	connKey ctxKey = iota
)

// peerConn is a unix socket connection with its peer's credentials.
type peerConn struct {
	net.Conn
	cred *unix.Ucred
	err  error
}

// peerListener reads each accepted connection's peer credentials.
type peerListener struct{ net.Listener }

func (l *peerListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	pc := &peerConn{Conn: c}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		pc.err = errors.New("not a unix socket")
		return pc, nil
	}
	raw, err := uc.SyscallConn()
	if err == nil {
		cerr := raw.Control(func(fd uintptr) {
			pc.cred, pc.err = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
		})
		if cerr != nil {
			pc.err = cerr
		}
	} else {
		pc.err = err
	}
	return pc, nil
}

func connContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey, c)
}

// userOf names who sent a request, for the log.
func userOf(ctx context.Context) string {
	switch c := ctx.Value(connKey).(type) {
	case *peerConn:
		if c.cred != nil {
			return fmt.Sprintf("uid=%d pid=%d", c.cred.Uid, c.cred.Pid)
		}
	case *tls.Conn:
		if st := c.ConnectionState(); len(st.PeerCertificates) > 0 {
			return st.PeerCertificates[0].Subject.CommonName
		}
	}
	return ""
}

// authenticate lets through requests from a root peer on the socket or with a verified
// client certificate; the rest get 401 (no identity) or 403 (a non-root peer).
func (s *Server) authenticate(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch c := r.Context().Value(connKey).(type) {
		case *peerConn:
			if c.err != nil || c.cred == nil {
				writeError(w, newStatus(http.StatusUnauthorized, "Unauthorized", "Unauthorized", nil))
				return
			}
			if c.cred.Uid != 0 {
				writeError(w, errForbidden(fmt.Sprintf("forbidden: minipod's socket serves root only, not uid %d", c.cred.Uid)))
				return
			}
		case *tls.Conn:
			if len(c.ConnectionState().VerifiedChains) == 0 {
				writeError(w, newStatus(http.StatusUnauthorized, "Unauthorized", "Unauthorized", nil))
				return
			}
		default:
			writeError(w, newStatus(http.StatusUnauthorized, "Unauthorized", "Unauthorized", nil))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// PKI is minipod's CA and the certificates it signs, in one directory:
// ca.crt/ca.key, apiserver.crt/apiserver.key (serving), admin.crt/admin.key (the client
// certificate of the admin kubeconfig). EnsurePKI makes what is missing.
type PKI struct {
	Dir   string
	CA    *x509.Certificate
	caKey *ecdsa.PrivateKey
	CAPEM []byte
}

// Certificate validity: the CA ten years, the others one (kubeadm's defaults).
const (
	caValidity   = 10 * 365 * 24 * time.Hour
	certValidity = 365 * 24 * time.Hour
)

// EnsurePKI loads the CA from dir, creating it (and dir, 0700) on first use.
func EnsurePKI(dir string) (*PKI, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	p := &PKI{Dir: dir}
	crt, key, err := loadPair(filepath.Join(dir, "ca"))
	if errors.Is(err, os.ErrNotExist) {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		tmpl := &x509.Certificate{
			SerialNumber:          serial(),
			Subject:               pkix.Name{CommonName: "minipod-ca"},
			NotBefore:             time.Now().Add(-time.Hour),
			NotAfter:              time.Now().Add(caValidity),
			KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
			BasicConstraintsValid: true,
			IsCA:                  true,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			return nil, fmt.Errorf("create CA certificate: %w", err)
		}
		if crt, err = x509.ParseCertificate(der); err != nil {
			return nil, err
		}
		if err := savePair(filepath.Join(dir, "ca"), der, key); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, fmt.Errorf("load CA from %s: %w", dir, err)
	}
	p.CA, p.caKey = crt, key
	p.CAPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: crt.Raw})
	return p, nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	return n
}

// pair returns the certificate and key named name, issuing them when missing, expired or not
// signed by the CA (a CA made anew).
func (p *PKI) pair(name string, tmpl *x509.Certificate) (tls.Certificate, error) {
	base := filepath.Join(p.Dir, name)
	crt, key, err := loadPair(base)
	if err == nil && crt.CheckSignatureFrom(p.CA) == nil && time.Now().Before(crt.NotAfter) {
		return tls.Certificate{Certificate: [][]byte{crt.Raw}, PrivateKey: key, Leaf: crt}, nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return tls.Certificate{}, fmt.Errorf("load %s: %w", base, err)
	}
	key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl.SerialNumber = serial()
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(certValidity)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.CA, &key.PublicKey, p.caKey)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("issue %s: %w", name, err)
	}
	if err := savePair(base, der, key); err != nil {
		return tls.Certificate{}, err
	}
	crt, _ = x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: crt}, nil
}

// ServingConfig returns the HTTPS configuration: the serving certificate (for localhost, the
// loopback addresses and host), client certificates required and verified against the CA.
func (p *PKI) ServingConfig(host string) (*tls.Config, error) {
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "minipod-apiserver"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{"localhost", "minipod"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	if ip := net.ParseIP(host); ip != nil && !ip.IsLoopback() && !ip.IsUnspecified() {
		tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
	}
	crt, err := p.pair("apiserver", tmpl)
	if err != nil {
		return nil, err
	}
	// A certificate made for another address is made again.
	if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() && crt.Leaf.VerifyHostname(host) != nil {
		os.Remove(filepath.Join(p.Dir, "apiserver.crt"))
		if crt, err = p.pair("apiserver", tmpl); err != nil {
			return nil, err
		}
	}
	pool := x509.NewCertPool()
	pool.AddCert(p.CA)
	return &tls.Config{
		Certificates: []tls.Certificate{crt},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"http/1.1"}, // upgrades (exec, port-forward) need HTTP/1.1
	}, nil
}

// WriteAdminKubeconfig writes (0600) a kubeconfig for server with the admin client
// certificate (CN minipod-admin, O system:masters, as kubeadm's admin.conf).
func (p *PKI) WriteAdminKubeconfig(path, server string) error {
	crt, err := p.pair("admin", &x509.Certificate{
		Subject:     pkix.Name{CommonName: "minipod-admin", Organization: []string{"system:masters"}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalECPrivateKey(crt.PrivateKey.(*ecdsa.PrivateKey))
	if err != nil {
		return err
	}
	b64 := func(typ string, der []byte) string {
		return base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
	}
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: minipod
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: minipod-admin
  user:
    client-certificate-data: %s
    client-key-data: %s
contexts:
- name: minipod
  context:
    cluster: minipod
    user: minipod-admin
    namespace: default
current-context: minipod
`, server, base64.StdEncoding.EncodeToString(p.CAPEM), b64("CERTIFICATE", crt.Certificate[0]), b64("EC PRIVATE KEY", keyDER))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.Write(path, []byte(kc), 0o600)
}

func loadPair(base string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	cb, err := os.ReadFile(base + ".crt")
	if err != nil {
		return nil, nil, err
	}
	kb, err := os.ReadFile(base + ".key")
	if err != nil {
		return nil, nil, err
	}
	cblk, _ := pem.Decode(cb)
	kblk, _ := pem.Decode(kb)
	if cblk == nil || kblk == nil {
		return nil, nil, errors.New("not PEM")
	}
	crt, err := x509.ParseCertificate(cblk.Bytes)
	if err != nil {
		return nil, nil, err
	}
	key, err := x509.ParseECPrivateKey(kblk.Bytes)
	if err != nil {
		return nil, nil, err
	}
	return crt, key, nil
}

func savePair(base string, der []byte, key *ecdsa.PrivateKey) error {
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(base+".key", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return err
	}
	return atomicfile.Write(base+".crt", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}
