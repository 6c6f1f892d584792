// Package openapi holds the OpenAPI v3 document minipod's daemon serves for /api/v1: the
// upstream one, cut down by gen.go to what minipod serves.
package openapi

import (
	"crypto/sha512"
	_ "embed"
	"encoding/hex"
)

//go:embed api__v1_openapi.json
var V1 []byte

// V1Hash is the document's hash, as the API server puts it in the URLs of /openapi/v3.
var V1Hash = func() string {
	h := sha512.Sum512(V1)
	return hex.EncodeToString(h[:])
}()
