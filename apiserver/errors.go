package apiserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/monitorapi"
)

// Errors are metav1.Status objects with the API server's codes, reasons and messages
// (k8s.io/apimachinery/pkg/api/errors: NewNotFound, NewAlreadyExists, NewInvalid, ...).

type statusError struct{ s metav1.Status }

func (e *statusError) Error() string { return e.s.Message }

func newStatus(code int32, reason metav1.StatusReason, msg string, details *metav1.StatusDetails) *statusError {
	return &statusError{metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure, Message: msg, Reason: reason, Code: code, Details: details,
	}}
}

// resource names what an error is about: pods, namespaces, events.
type resource struct{ group, name string }

var (
	podsResource       = resource{"", "pods"}
	namespacesResource = resource{"", "namespaces"}
	eventsResource     = resource{"", "events"}
)

func errNotFound(r resource, name string) error {
	return newStatus(http.StatusNotFound, metav1.StatusReasonNotFound, fmt.Sprintf("%s %q not found", r.name, name),
		&metav1.StatusDetails{Name: name, Kind: r.name})
}

func errAlreadyExists(r resource, name string) error {
	return newStatus(http.StatusConflict, metav1.StatusReasonAlreadyExists, fmt.Sprintf("%s %q already exists", r.name, name),
		&metav1.StatusDetails{Name: name, Kind: r.name})
}

func errConflict(r resource, name, why string) error {
	return newStatus(http.StatusConflict, metav1.StatusReasonConflict,
		fmt.Sprintf("Operation cannot be fulfilled on %s %q: %s", r.name, name, why), &metav1.StatusDetails{Name: name, Kind: r.name})
}

func errBadRequest(msg string) error {
	return newStatus(http.StatusBadRequest, metav1.StatusReasonBadRequest, msg, nil)
}

func errGone(msg string) error {
	return newStatus(http.StatusGone, metav1.StatusReasonExpired, msg, nil)
}

func errMethodNotSupported(r resource, action string) error {
	return newStatus(http.StatusMethodNotAllowed, metav1.StatusReasonMethodNotAllowed,
		fmt.Sprintf("%s is not supported on resources of kind %q", action, r.name), &metav1.StatusDetails{Kind: r.name})
}

func errForbidden(msg string) error {
	return newStatus(http.StatusForbidden, metav1.StatusReasonForbidden, msg, nil)
}

func errUnsupportedMediaType(ct string) error {
	return newStatus(http.StatusUnsupportedMediaType, metav1.StatusReasonUnsupportedMediaType,
		fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml; got %q", ct), nil)
}

func errInternal(err error) error {
	return newStatus(http.StatusInternalServerError, metav1.StatusReasonInternalError,
		fmt.Sprintf("Internal error occurred: %v", err), &metav1.StatusDetails{Causes: []metav1.StatusCause{{Message: err.Error()}}})
}

func errServiceUnavailable(msg string) error {
	return newStatus(http.StatusServiceUnavailable, metav1.StatusReasonServiceUnavailable, msg, nil)
}

// errInvalid is NewInvalid: 422 with one cause per field, the message listing them.
func errInvalid(kind, name string, fes []api.FieldError) error {
	var causes []metav1.StatusCause
	msg := fmt.Sprintf("%s %q is invalid: ", kind, name)
	for i, fe := range fes {
		causes = append(causes, metav1.StatusCause{Type: causeType(fe.Detail), Message: fe.Detail, Field: fe.Field})
		if i > 0 {
			msg += ", "
		}
		if fe.Field != "" {
			msg += fe.Field + ": "
		}
		msg += fe.Detail
	}
	if len(fes) > 1 {
		msg = fmt.Sprintf("%s %q is invalid: [%s]", kind, name, msg[len(fmt.Sprintf("%s %q is invalid: ", kind, name)):])
	}
	return newStatus(http.StatusUnprocessableEntity, metav1.StatusReasonInvalid, msg,
		&metav1.StatusDetails{Name: name, Kind: kind, Causes: causes})
}

// causeType recovers field.ErrorType from the detail's prefix ("Required value: ...").
func causeType(detail string) metav1.CauseType {
	for _, t := range []struct {
		prefix string
		typ    metav1.CauseType
	}{
		{"Required value", metav1.CauseTypeFieldValueRequired},
		{"Duplicate value", metav1.CauseTypeFieldValueDuplicate},
		{"Unsupported value", metav1.CauseTypeFieldValueNotSupported},
		{"Forbidden", "FieldValueForbidden"},
		{"Too long", "FieldValueTooLong"},
		{"Too many", "FieldValueTooMany"},
		{"Not found", metav1.CauseTypeFieldValueNotFound},
		{"Invalid value", metav1.CauseTypeFieldValueInvalid},
	} {
		if len(detail) >= len(t.prefix) && detail[:len(t.prefix)] == t.prefix {
			return t.typ
		}
	}
	return metav1.CauseTypeFieldValueInvalid
}

// fromMonitor maps a monitor call's error kind to a status.
func fromMonitor(err error, podName string) error {
	var me *monitorapi.Error
	if !errors.As(err, &me) {
		return errInternal(err)
	}
	switch me.Kind {
	case monitorapi.NotFound:
		return errNotFound(podsResource, podName)
	case monitorapi.Invalid, monitorapi.FailedPrecondition:
		return errBadRequest(me.Message)
	case monitorapi.Unavailable:
		return errServiceUnavailable(me.Message)
	}
	return errInternal(err)
}

// writeError answers with err as a Status.
func writeError(w http.ResponseWriter, err error) {
	var se *statusError
	if !errors.As(err, &se) {
		se = errInternal(err).(*statusError)
	}
	writeJSON(w, int(se.s.Code), &se.s)
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","message":"encoding the response failed","code":500}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(b)
}
