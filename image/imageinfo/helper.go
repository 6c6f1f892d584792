package imageinfo

import (
	"errors"
	"fmt"
)

// The pod monitor gets images through a short-lived helper process, `minipod image
// get-for-monitor` (the CLI binary, which links the registry client), except rootfs:
// references, which it resolves itself. The helper writes one JSON object a line on its
// standard output: progress lines while it works, then one result line.

// HelperLine is one line of the helper's output.
type HelperLine struct {
	Progress *Progress    `json:"progress,omitempty"`
	Image    *Image       `json:"image,omitempty"`
	Size     int64        `json:"size,omitempty"` // the image's unpacked size, for the Pulled event
	Error    *HelperError `json:"error,omitempty"`
}

// HelperError is a failed Get, its kind by name so that errors.Is works across the pipe.
type HelperError struct {
	Ref     string `json:"ref"`
	Kind    string `json:"kind,omitempty"`
	Message string `json:"message"`
}

var kinds = map[string]error{
	"InvalidReference": ErrInvalidReference,
	"NotFound":         ErrNotFound,
	"InvalidImage":     ErrInvalidImage,
	"Unsupported":      ErrUnsupported,
	"NeverPull":        ErrNeverPull,
}

// NewHelperError describes err, an *Error (or any error of a Get of ref), for the pipe.
func NewHelperError(ref string, err error) *HelperError {
	he := &HelperError{Ref: ref, Message: err.Error()}
	var e *Error
	if errors.As(err, &e) {
		he.Ref, he.Message = e.Ref, fmt.Sprint(e.Err)
	}
	kind := KindOf(err)
	for name, k := range kinds {
		if k == kind {
			he.Kind = name
		}
	}
	return he
}

// Err is the *Error the helper reported: the same text, the same kind.
func (he *HelperError) Err() error {
	return &Error{Ref: he.Ref, Kind: kinds[he.Kind], Err: errors.New(he.Message)}
}
